// From a document's plain value (already checked against the schema) to the
// typed model: defaults applied, names canonical, paths, CIDRs and ports
// parsed. Only subtrees that passed the schema are read; every problem found
// here is a located Diagnostic, and a policy with any problem is not returned.
import type { Diagnostic } from '../errors.ts';
import type { DiagnosticCode } from './codes.ts';
import {
  DEVICE_ACCESS,
  type DeviceSelector,
  type Exceptions,
  FILE_OPERATIONS,
  type Match,
  MOUNT_OPERATIONS,
  type Policy,
  PTRACE_MODES,
  type Rule,
  type RuleKind,
  type Scope,
  type Severity,
  SYSCTL_ACCESS,
} from './model.ts';
import { parseCidr, parsePort } from './net.ts';
import { checkPath, checkSysctl, type PathRole } from './paths.ts';
import type { YamlDocument } from './yaml-positions.ts';

/** Kinds that may carry `allow` rules (and become allowlists under defaultAction: block). */
export const ALLOWABLE_KINDS: readonly RuleKind[] = ['exec', 'file', 'connect', 'bind'];

type Raw = Record<string, unknown>;

function dedupe<T>(items: T[], key: (t: T) => string = String): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Reads one document; `bad` holds the JSON pointers the schema rejected. */
class Reader {
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
  const p = (k: string) => [...path, k];
  switch (kind) {
    case 'exec':
    case 'file': {
      const paths = r.paths(m.paths, 'path', p('paths'));
      const directories = r.paths(m.directories, 'directory', p('directories'));
      const written = ((m.paths as unknown[]) ?? []).length + ((m.directories as unknown[]) ?? []).length;
      r.needTargets(written, 'paths or directories', path);
      if (kind === 'exec') return { kind, paths, directories };
      return { kind, paths, directories, operations: r.qualifier(m, 'operations', FILE_OPERATIONS, path) };
    }
    case 'capability': {
      const capabilities = dedupe((m.capabilities as string[] | undefined) ?? []);
      r.needTargets(capabilities.length, 'capabilities', path);
      return { kind, capabilities };
    }
    case 'module':
      return { kind };
    case 'bpf':
      return { kind, commands: dedupe(r.optional<string>(m, 'commands', path)) };
    case 'ptrace':
      return { kind, modes: r.qualifier(m, 'modes', PTRACE_MODES, path) };
    case 'mount':
      return {
        kind,
        operations: r.qualifier(m, 'operations', MOUNT_OPERATIONS, path),
        fsTypes: dedupe(r.optional<string>(m, 'fsTypes', path)),
      };
    case 'setuid':
      return { kind, to: m.to as 'root' | 'any' };
    case 'socket':
      return {
        kind,
        families: r.qualifier(m, 'families', ['any'] as const, path),
        types: r.qualifier(m, 'types', ['any'] as const, path),
      };
    case 'connect':
    case 'bind': {
      const addresses = [];
      r.optional(m, 'addresses', path);
      for (const [i, text] of r.items<string>(m.addresses, p('addresses'))) {
        const c = parseCidr(text);
        if (c.ok) addresses.push(c.value);
        else r.report('INVALID_CIDR', c.reason, [...p('addresses'), String(i)]);
      }
      const ports = [];
      r.optional(m, 'ports', path);
      for (const [i, v] of r.items<number | string>(m.ports, p('ports'))) {
        const port = parsePort(v);
        if (port.ok) ports.push(port.value);
        else r.report('INVALID_PORT_RANGE', port.reason, [...p('ports'), String(i)]);
      }
      return {
        kind,
        addresses: dedupe(addresses, (a) => `${a.family}:${a.address.join('.')}/${a.bits}`),
        ports: dedupe(ports, (x) => `${x.from}-${x.to}`),
        protocols: r.qualifier(m, 'protocols', ['any'] as const, path),
      };
    }
    case 'device': {
      const devices: DeviceSelector[] = ((m.devices as Raw[] | undefined) ?? []).map((d) => ({
        type: d.type as 'char' | 'block',
        major: typeof d.major === 'number' ? d.major : null,
        minor: typeof d.minor === 'number' ? d.minor : null,
      }));
      r.needTargets(devices.length, 'devices', path);
      // the kernel looks up (major, minor), (major, *), (*, *): a fixed minor under any major has no key
      devices.forEach((d, i) => {
        if (d.major === null && d.minor !== null) {
          r.report(
            'INVALID_VALUE',
            'a device with major "*" must have minor "*" too (any major with one minor cannot be matched)',
            [...p('devices'), String(i), 'minor'],
          );
        }
      });
      return {
        kind,
        devices: dedupe(devices, (d) => `${d.type}:${d.major}:${d.minor}`),
        access: r.qualifier(m, 'access', DEVICE_ACCESS, path),
      };
    }
    case 'sysctl': {
      const sysctl = (key: string, prefix: boolean): string[] => {
        const out: string[] = [];
        for (const [i, raw] of r.items<string>(m[key], p(key))) {
          const c = checkSysctl(raw, prefix);
          if (c.ok) out.push(c.value);
          else r.report(c.code, c.reason, [...p(key), String(i)]);
        }
        return dedupe(out);
      };
      const names = sysctl('names', false);
      const prefixes = sysctl('prefixes', true);
      const written = ((m.names as unknown[]) ?? []).length + ((m.prefixes as unknown[]) ?? []).length;
      r.needTargets(written, 'sysctl names or prefixes', path);
      return { kind, names, prefixes, access: r.qualifier(m, 'access', SYSCTL_ACCESS, path) };
    }
    case 'kprobe':
      return { kind, function: m.function as string };
  }
}

function readExceptions(r: Reader, raw: Raw | undefined, path: string[]): Exceptions {
  const e = raw ?? {};
  return {
    executables: r.paths(e.executables, 'executable', [...path, 'executables']),
    uids: dedupe((e.uids as number[] | undefined) ?? []),
    cgroups: r.paths(e.cgroups, 'cgroup', [...path, 'cgroups']),
  };
}

interface PolicyDefaults {
  name: string;
  description: string;
  severity: Severity;
  tags: string[];
}

function readRule(r: Reader, raw: Raw, path: string[], policy: PolicyDefaults): Rule | null {
  const before = r.diagnostics.length;
  const kind = raw.kind as RuleKind;
  const action = raw.action as Rule['action'];
  const kindOk = r.clean([...path, 'kind']);
  const actionOk = kindOk && r.clean([...path, 'action']);
  if (actionOk && action === 'allow' && !ALLOWABLE_KINDS.includes(kind)) {
    r.report(
      'ACTION_NOT_ALLOWED_FOR_KIND',
      `allow is only valid for exec, file, connect and bind rules, not ${kind}`,
      [...path, 'action'],
    );
  }
  if (actionOk && kind === 'kprobe' && action !== 'audit') {
    r.report('ACTION_NOT_ALLOWED_FOR_KIND', `a kprobe rule can only audit, not ${action}`, [
      ...path,
      'action',
    ]);
  }
  if (!kindOk) return null;
  const match = readMatch(r, kind, r.part(raw.match, [...path, 'match']), [...path, 'match']);
  const unless = readExceptions(r, r.part(raw.unless, [...path, 'unless']), [...path, 'unless']);
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
