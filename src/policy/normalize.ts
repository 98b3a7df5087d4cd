// From a document's plain value (already checked against the schema) to the
// typed model: defaults applied, names canonical, paths, CIDRs and ports
// parsed. Only subtrees that passed the schema are read; every problem found
// here is a located Diagnostic, and a policy with any problem is not returned.
import type { Diagnostic } from '../errors.ts';
import { kindOf, kindsAccepting, type Match, type RuleKind } from '../kinds/index.ts';
import { dedupe, type MatchReader, type Raw } from '../kinds/kind.ts';
import type { DiagnosticCode } from './codes.ts';
import type { Exceptions, Policy, Rule, Scope, Severity } from './model.ts';
import { checkPath, type PathRole } from './paths.ts';
import { ACTIONS } from './vocabulary.ts';
import type { YamlDocument } from './yaml-positions.ts';

/** Kinds that may carry `allow` rules (and become allowlists under defaultAction: block). */
export const ALLOWABLE_KINDS: readonly RuleKind[] = kindsAccepting('allow');

/** "a, b and c" */
function words(list: readonly string[]): string {
  return list.length < 2 ? list.join('') : `${list.slice(0, -1).join(', ')} and ${list.at(-1)}`;
}

/** Reads one document; `bad` holds the JSON pointers the schema rejected. */
class Reader implements MatchReader {
  readonly diagnostics: Diagnostic[] = [];
  private readonly doc: YamlDocument;
  private readonly bad: string[];

  constructor(doc: YamlDocument, bad: string[]) {
    this.doc = doc;
    this.bad = bad;
  }

  /** True when the schema found nothing wrong at or below this path. */
  clean(path: string[]): boolean {
    const p = path.length === 0 ? '' : `/${path.join('/')}`;
    return !this.bad.some((b) => b === p || b.startsWith(`${p}/`) || (p.startsWith(`${b}/`) && b !== ''));
  }

  report(code: DiagnosticCode, message: string, path: string[], at: 'key' | 'value' = 'value'): void {
    this.diagnostics.push({ code, message, severity: 'error', pos: this.doc.locate(path, at) });
  }

  /** The keys of a mapping whose value itself passed the schema ({} if it is not a mapping). */
  part(raw: unknown, path: string[]): Raw {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
    const prefix = `/${path.join('/')}/`;
    return Object.fromEntries(Object.entries(raw).filter(([k]) => !this.bad.includes(`${prefix}${k}`)));
  }

  /** The items of a list that passed the schema, with their index. */
  items<T>(values: unknown, path: string[]): [number, T][] {
    if (!Array.isArray(values)) return [];
    return [...values.entries()].filter(([i]) => this.clean([...path, String(i)])) as [number, T][];
  }

  pos(path: string[]) {
    return this.doc.locate(path, 'key');
  }

  paths(values: unknown, role: PathRole, path: string[]): string[] {
    const out: string[] = [];
    for (const [i, raw] of this.items<string>(values, path)) {
      const r = checkPath(raw, role);
      if (r.ok) out.push(r.value);
      else this.report(r.code, r.reason, [...path, String(i)]);
    }
    return dedupe(out);
  }

  /** A qualifier list: omitted means every value, written empty matches nothing (EMPTY_MATCH). */
  qualifier<T extends string>(m: Raw, key: string, all: readonly T[], path: string[]): T[] {
    const v = m[key] as T[] | undefined;
    if (v === undefined) return [...all];
    if (v.length === 0)
      this.report('EMPTY_MATCH', `${key} is empty, so the rule can never match; omit it to mean any`, [
        ...path,
        key,
      ]);
    return dedupe(v);
  }

  /** A list whose omission means "any" in the model (empty list); written empty is EMPTY_MATCH. */
  optional<T>(m: Raw, key: string, path: string[]): T[] {
    const v = m[key] as T[] | undefined;
    if (v !== undefined && v.length === 0) {
      this.report('EMPTY_MATCH', `${key} is empty, so the rule can never match; omit it to mean any`, [
        ...path,
        key,
      ]);
    }
    return v ?? [];
  }

  needTargets(count: number, what: string, path: string[]): void {
    if (count === 0 && this.clean(path))
      this.report('EMPTY_MATCH', `the rule names no ${what}, so it can never match`, path, 'key');
  }
}

function readMatch(r: Reader, kind: RuleKind, m: Raw, path: string[]): Match {
  return kindOf(kind).normalize(r, m, path);
}

/**
 * unless.executables: a path exempts its file whatever it holds; { path, sha256 }
 * only while the file has one of those contents; { sha256 } any program whose
 * file has one of them. A path given both ways is exempt whatever it holds
 * (any one entry exempts).
 */
function readExempt(
  r: Reader,
  values: unknown,
  path: string[],
): Pick<Exceptions, 'executables' | 'digests' | 'contents'> {
  const plain = new Set<string>();
  const pinned = new Map<string, Set<string>>();
  const contents = new Set<string>();
  for (const [i, item] of r.items<string | { path?: string; sha256: string[] }>(values, path)) {
    if (typeof item !== 'string' && item.path === undefined) {
      for (const d of item.sha256) contents.add(d.toLowerCase());
      continue;
    }
    const at = typeof item === 'string' ? [...path, String(i)] : [...path, String(i), 'path'];
    const checked = checkPath(typeof item === 'string' ? item : (item.path as string), 'executable');
    if (!checked.ok) {
      r.report(checked.code, checked.reason, at);
      continue;
    }
    if (typeof item === 'string') {
      plain.add(checked.value);
      continue;
    }
    const set = pinned.get(checked.value) ?? new Set<string>();
    for (const d of item.sha256) set.add(d.toLowerCase());
    pinned.set(checked.value, set);
  }
  const digests: Record<string, string[]> = {};
  for (const [p, set] of pinned) if (!plain.has(p)) digests[p] = [...set].sort();
  return { executables: dedupe([...plain, ...pinned.keys()]), digests, contents: [...contents].sort() };
}

function readExceptions(r: Reader, raw: Raw | undefined, path: string[]): Exceptions {
  const e = raw ?? {};
  return {
    ...readExempt(r, e.executables, [...path, 'executables']),
    uids: dedupe((e.uids as number[] | undefined) ?? []),
    euids: dedupe((e.euids as number[] | undefined) ?? []),
    cgroups: r.paths(e.cgroups, 'cgroup', [...path, 'cgroups']),
  };
}

interface PolicyDefaults {
  name: string;
  description: string;
  severity: Severity;
  tags: string[];
}

/** The action must be one the kind accepts: allow only for allowlist kinds, audit only for some. */
function checkAction(r: Reader, kind: RuleKind, action: Rule['action'], path: string[]): void {
  const accepted = kindOf(kind).actions;
  if (action === 'allow' && !accepted.includes('allow')) {
    r.report(
      'ACTION_NOT_ALLOWED_FOR_KIND',
      `allow is only valid for ${words(ALLOWABLE_KINDS)} rules, not ${kind}`,
      path,
    );
  }
  const enforcing = accepted.filter((a) => a !== 'allow');
  const restricted = ACTIONS.some((a) => a !== 'allow' && !accepted.includes(a));
  if (restricted && !accepted.includes(action)) {
    r.report(
      'ACTION_NOT_ALLOWED_FOR_KIND',
      `a ${kind} rule can only ${enforcing.join(' or ')}, not ${action}`,
      path,
    );
  }
}

function readRule(r: Reader, raw: Raw, path: string[], policy: PolicyDefaults): Rule | null {
  const before = r.diagnostics.length;
  const kind = raw.kind as RuleKind;
  const action = raw.action as Rule['action'];
  const kindOk = r.clean([...path, 'kind']);
  const actionOk = kindOk && r.clean([...path, 'action']);
  if (actionOk) checkAction(r, kind, action, [...path, 'action']);
  if (!kindOk) return null;
  const match = readMatch(r, kind, r.part(raw.match, [...path, 'match']), [...path, 'match']);
  const unless = readExceptions(r, r.part(raw.unless, [...path, 'unless']), [...path, 'unless']);
  const unresolved = (raw.unresolved as Rule['unresolved'] | undefined) ?? 'deny';
  if (raw.unresolved !== undefined && !kindOf(kind).unresolvedKeys) {
    r.report(
      'INVALID_VALUE',
      `unresolved applies to rules that match paths or filesystem types (exec, file, mount), not to a ${kind} rule`,
      [...path, 'unresolved'],
    );
  }
  if (r.diagnostics.length > before || !r.clean(path)) return null;
  const description = (raw.description as string | undefined) ?? '';
  return {
    id: raw.id as string,
    kind,
    action,
    severity: (raw.severity as Severity | undefined) ?? policy.severity,
    message:
      (raw.message as string | undefined) ??
      (description || policy.description || `${policy.name}/${raw.id}`),
    description,
    tags: dedupe([...policy.tags, ...((raw.tags as string[] | undefined) ?? [])]),
    match,
    unless,
    unresolved,
    pos: r.pos(path),
  };
}

/** The typed policy of one document and the problems found; `policy` is null when there is any. */
export function readPolicy(
  doc: YamlDocument,
  bad: string[],
): { policy: Policy | null; diagnostics: Diagnostic[] } {
  const r = new Reader(doc, bad);
  const v = doc.value as Raw;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { policy: null, diagnostics: [] };
  const meta = (r.clean(['metadata']) ? v.metadata : {}) as Raw;
  const spec = (typeof v.spec === 'object' && v.spec !== null ? v.spec : {}) as Raw;
  const defaults: PolicyDefaults = {
    name: String(meta.name ?? ''),
    description: (meta.description as string | undefined) ?? '',
    severity: (meta.severity as Severity | undefined) ?? 'medium',
    tags: dedupe((meta.tags as string[] | undefined) ?? []),
  };
  const s = r.part(spec.scope, ['spec', 'scope']);
  const scope: Scope = {
    ...readExceptions(r, s, ['spec', 'scope']),
    euids: dedupe((s.euids as number[] | undefined) ?? []),
    processes: (s.processes as Scope['processes'] | undefined) ?? 'all',
  };
  const rules: Rule[] = [];
  const rawRules = Array.isArray(spec.rules) ? (spec.rules as Raw[]) : [];
  const firstById = new Map<string, number>();
  rawRules.forEach((raw, i) => {
    const path = ['spec', 'rules', String(i)];
    if (typeof raw?.id === 'string' && r.clean([...path, 'id'])) {
      const first = firstById.get(raw.id);
      if (first === undefined) firstById.set(raw.id, i);
      else {
        const at = doc.locate(['spec', 'rules', String(first), 'id']);
        r.report('DUPLICATE_RULE_ID', `rule id '${raw.id}' is already used at line ${at.line}`, [
          ...path,
          'id',
        ]);
      }
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return;
    const rule = readRule(r, raw, path, defaults);
    if (rule) rules.push(rule);
  });
  const valid = r.clean([]) && r.diagnostics.length === 0;
  if (!valid) return { policy: null, diagnostics: r.diagnostics };
  const policy: Policy = {
    name: defaults.name,
    description: defaults.description,
    severity: defaults.severity,
    tags: defaults.tags,
    labels: { ...((meta.labels as Record<string, string> | undefined) ?? {}) },
    mode: (spec.mode as Policy['mode'] | undefined) ?? 'enforce',
    defaultAction: (spec.defaultAction as Policy['defaultAction'] | undefined) ?? 'allow',
    scope,
    rules,
    pos: doc.locate([], 'value'),
  };
  if (policy.defaultAction === 'block' && !rules.some((x) => x.action === 'allow')) {
    r.report(
      'ALLOWLIST_WITHOUT_ALLOW',
      'defaultAction: block needs at least one allow rule, or it blocks everything in scope',
      ['spec', 'defaultAction'],
    );
    return { policy: null, diagnostics: r.diagnostics };
  }
  return { policy, diagnostics: r.diagnostics };
}
