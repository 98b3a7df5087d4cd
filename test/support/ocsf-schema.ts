// Checks an OCSF event against the OCSF 1.8.0 definition files in
// ../shared/ocsf-1.8.0 (beside the checkout), read at test time: classes
// (following `extends` chains and `$include`d profiles), objects (likewise),
// the attribute dictionary and its data types. Reports every problem:
// missing required attributes, unknown attributes, wrong types, enum values
// that are not defined, broken at_least_one/just_one constraints, and
// inconsistent class/category/type ids.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from './paths.ts';

export const OCSF_DIR = resolve(PROJECT_ROOT, '../shared/ocsf-1.8.0');

type Def = Record<string, unknown>;
interface AttrDef {
  type?: string;
  is_array?: boolean;
  requirement?: string;
  enum?: Record<string, unknown>;
  [k: string]: unknown;
}
interface Resolved {
  name: string;
  attributes: Record<string, AttrDef>;
  constraints: { at_least_one?: string[]; just_one?: string[] };
  profiles: string[];
  uid?: number;
  category?: string;
}

const readJson = (p: string): Def => JSON.parse(readFileSync(p, 'utf8')) as Def;

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (n.endsWith('.json')) out.push(p);
  }
  return out;
}

function mergeAttr(a: AttrDef | undefined, b: AttrDef): AttrDef {
  const out: AttrDef = { ...(a ?? {}), ...b };
  if (a?.enum || b.enum) out.enum = { ...(a?.enum ?? {}), ...(b.enum ?? {}) };
  return out;
}

export class OcsfSchema {
  readonly version: string;
  readonly dictionary: Record<string, AttrDef>;
  readonly types: Record<string, Def>;
  readonly categories: Record<string, { uid: number; caption: string }>;
  readonly #classes = new Map<string, Def>();
  readonly #objects = new Map<string, Def>();
  readonly profileNames: Set<string>;

  constructor(dir = OCSF_DIR) {
    if (!existsSync(dir)) throw new Error(`OCSF definitions not found at ${dir}`);
    this.version = String(readJson(join(dir, 'version.json')).version);
    const dict = readJson(join(dir, 'dictionary.json'));
    this.dictionary = dict.attributes as Record<string, AttrDef>;
    this.types = (dict.types as Def).attributes as Record<string, Def>;
    this.categories = readJson(join(dir, 'categories.json')).attributes as Record<
      string,
      { uid: number; caption: string }
    >;
    for (const p of walk(join(dir, 'events'))) {
      const d = readJson(p);
      this.#classes.set(String(d.name), d);
    }
    for (const p of walk(join(dir, 'objects'))) {
      const d = readJson(p);
      this.#objects.set(String(d.name), d);
    }
    this.profileNames = new Set(readdirSync(join(dir, 'profiles')).map((n) => n.replace(/\.json$/, '')));
    this.dir = dir;
  }
  readonly dir: string;

  #include(paths: unknown): Record<string, AttrDef> {
    const out: Record<string, AttrDef> = {};
    for (const p of (paths as string[] | undefined) ?? []) {
      const inc = readJson(join(this.dir, p));
      // attributes of a profile count only where the event declares the profile
      const profile = inc.meta === 'profile' ? String(inc.name) : undefined;
      for (const [k, v] of Object.entries((inc.attributes as Record<string, AttrDef>) ?? {})) {
        out[k] = mergeAttr(out[k], profile !== undefined ? { profile, ...v } : v);
      }
    }
    return out;
  }

  #resolve(def: Def, lookup: (n: string) => Def | undefined): Resolved {
    const parentName = def.extends as string | undefined;
    const parent = parentName ? lookup(parentName) : undefined;
    if (parentName && !parent) throw new Error(`${String(def.name)} extends unknown ${parentName}`);
    const base: Resolved = parent
      ? this.#resolve(parent, lookup)
      : { name: '', attributes: {}, constraints: {}, profiles: [] };
    const attrs = { ...base.attributes };
    const own = (def.attributes as Record<string, AttrDef>) ?? {};
    for (const [k, v] of Object.entries(this.#include(own.$include))) attrs[k] = mergeAttr(attrs[k], v);
    for (const [k, v] of Object.entries(own)) if (k !== '$include') attrs[k] = mergeAttr(attrs[k], v);
    return {
      name: String(def.name),
      attributes: attrs,
      constraints: (def.constraints as Resolved['constraints']) ?? base.constraints,
      profiles: [...new Set([...base.profiles, ...((def.profiles as string[]) ?? [])])],
      uid: (def.uid as number | undefined) ?? undefined,
      category: (def.category as string | undefined) ?? base.category,
    };
  }

  cls(name: string): Resolved {
    const d = this.#classes.get(name);
    if (!d) throw new Error(`unknown OCSF class ${name}`);
    return this.#resolve(d, (n) => this.#classes.get(n));
  }

  object(name: string): Resolved {
    const d = this.#objects.get(name);
    if (!d) throw new Error(`unknown OCSF object ${name}`);
    return this.#resolve(d, (n) => this.#objects.get(n));
  }

  /** class_uid as OCSF numbers it: category uid * 1000 + class uid. */
  classUid(name: string): number {
    const c = this.cls(name);
    const cat = this.categories[c.category ?? ''];
    if (!cat || c.uid === undefined) throw new Error(`class ${name} has no category or uid`);
    return cat.uid * 1000 + c.uid;
  }

  classNameByUid(uid: number): string | undefined {
    for (const name of this.#classes.keys()) {
      try {
        if (this.classUid(name) === uid) return name;
      } catch {
        // abstract classes (base_event, system...) have no uid
      }
    }
    return undefined;
  }

  #primitive(type: string): string {
    let t = type;
    for (let i = 0; i < 5; i++) {
      const def = this.types[t];
      if (!def || def.type === undefined) return t;
      t = String(def.type);
    }
    return t;
  }

  #checkValue(v: unknown, def: AttrDef, path: string, errors: string[]): void {
    const type = def.type ?? 'object';
    if (type === 'object' && !def.is_array) {
      // the generic object (e.g. unmapped): free-form
      if (typeof v !== 'object' || v === null) errors.push(`${path}: expected an object`);
      return;
    }
    if (def.is_array) {
      if (!Array.isArray(v)) {
        errors.push(`${path}: expected an array of ${type}`);
        return;
      }
      v.forEach((item, i) => {
        this.#checkValue(item, { ...def, is_array: false }, `${path}[${i}]`, errors);
      });
      return;
    }
    if (this.#objects.has(type)) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        errors.push(`${path}: expected object ${type}`);
        return;
      }
      this.checkObject(v as Def, this.object(type), path, errors);
      return;
    }
    const prim = this.#primitive(type);
    const tdef = this.types[type] ?? {};
    switch (prim) {
      case 'string_t': {
        if (typeof v !== 'string') errors.push(`${path}: expected a string (${type})`);
        else {
          if (typeof tdef.regex === 'string' && !new RegExp(tdef.regex).test(v)) {
            errors.push(`${path}: ${JSON.stringify(v)} does not match ${type}`);
          }
          if (typeof tdef.max_len === 'number' && v.length > tdef.max_len)
            errors.push(`${path}: too long for ${type}`);
        }
        break;
      }
      case 'integer_t':
      case 'long_t':
      case 'timestamp_t':
        if (!Number.isInteger(v)) errors.push(`${path}: expected an integer (${type})`);
        break;
      case 'float_t':
        if (typeof v !== 'number') errors.push(`${path}: expected a number`);
        break;
      case 'boolean_t':
        if (typeof v !== 'boolean') errors.push(`${path}: expected a boolean`);
        break;
      case 'json_t':
      case 'object':
        break;
      default:
        errors.push(`${path}: unknown type ${type}`);
    }
    const range = tdef.range as [number, number] | undefined;
    if (range && typeof v === 'number' && (v < range[0] || v > range[1]))
      errors.push(`${path}: out of range`);
    // class_uid, category_uid and type_uid are checked for consistency in check()
    const classification = /\.(class_uid|category_uid|type_uid)$/.test(path);
    if (def.enum && !classification && !Object.hasOwn(def.enum, String(v))) {
      errors.push(`${path}: ${JSON.stringify(v)} is not one of ${Object.keys(def.enum).join(', ')}`);
    }
  }

  /** Profiles the event being checked declares (metadata.profiles). */
  #active = new Set<string>();

  checkObject(value: Def, r: Resolved, path: string, errors: string[]): void {
    const inForce = (a: AttrDef): boolean => typeof a.profile !== 'string' || this.#active.has(a.profile);
    for (const [k, a] of Object.entries(r.attributes)) {
      if (a.requirement === 'required' && inForce(a) && value[k] === undefined) {
        errors.push(`${path}.${k}: required by ${r.name}`);
      }
    }
    for (const [k, v] of Object.entries(value)) {
      const local = r.attributes[k];
      if (!local) {
        errors.push(`${path}.${k}: not an attribute of ${r.name}`);
        continue;
      }
      if (!inForce(local)) {
        errors.push(`${path}.${k}: belongs to profile ${String(local.profile)}, not in metadata.profiles`);
        continue;
      }
      const dict = this.dictionary[k];
      if (!dict) {
        errors.push(`${path}.${k}: not in the dictionary`);
        continue;
      }
      this.#checkValue(v, mergeAttr(dict, local), `${path}.${k}`, errors);
    }
    const c = r.constraints;
    if (c.at_least_one && !c.at_least_one.some((k) => value[k] !== undefined)) {
      errors.push(`${path}: ${r.name} needs at least one of ${c.at_least_one.join(', ')}`);
    }
    if (c.just_one && c.just_one.filter((k) => value[k] !== undefined).length !== 1) {
      errors.push(`${path}: ${r.name} needs exactly one of ${c.just_one.join(', ')}`);
    }
  }

  /** Every problem of an OCSF event; empty when it conforms. */
  check(event: Def): string[] {
    const errors: string[] = [];
    const uid = event.class_uid;
    const name = typeof uid === 'number' ? this.classNameByUid(uid) : undefined;
    if (!name) return [`class_uid ${String(uid)} is not a known class`];
    const r = this.cls(name);
    const md0 = event.metadata as Def | undefined;
    this.#active = new Set((md0?.profiles as string[] | undefined) ?? []);
    this.checkObject(event, r, name, errors);
    const cat = this.categories[r.category ?? ''];
    if (event.category_uid !== cat?.uid)
      errors.push(`category_uid ${String(event.category_uid)} != ${cat?.uid}`);
    if (event.type_uid !== (uid as number) * 100 + Number(event.activity_id)) {
      errors.push(`type_uid ${String(event.type_uid)} != class_uid * 100 + activity_id`);
    }
    const md = event.metadata as Def | undefined;
    if (md?.version !== this.version)
      errors.push(`metadata.version ${String(md?.version)} != ${this.version}`);
    for (const p of (md?.profiles as string[] | undefined) ?? []) {
      if (!this.profileNames.has(p)) errors.push(`metadata.profiles: unknown profile ${p}`);
    }
    return errors;
  }

  /** Attributes a profile adds (profiles/<name>.json). */
  profileAttributes(name: string): string[] {
    const p = readJson(join(this.dir, 'profiles', `${name}.json`));
    return Object.keys((p.attributes as Def) ?? {});
  }

  /** Captions of an attribute's enum in a class (for activity names). */
  classEnum(className: string, attr: string): Record<string, unknown> {
    const a = mergeAttr(this.dictionary[attr], this.cls(className).attributes[attr] ?? {});
    return a.enum ?? {};
  }
}
