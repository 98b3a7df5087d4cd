// sysctl: reads and writes of kernel settings, by name or prefix (the cgroup
// sysctl hook). BPF side: bpf/kinds/sysctl.h.
import { sysctlPath } from '../abi/encode/path.ts';
import { PATH_MAX } from '../abi/layout.ts';
import { Numbered } from '../abi/numbers.ts';
import type { DiagnosticCode } from '../policy/codes.ts';
import { cString, u32 } from './decode.ts';
import { pathKeys } from './keys.ts';
import { cross, dedupe, defineKind, ENFORCING, type MatchReader, type Raw, wholeUnit } from './kind.ts';
import { fileObj, OCSF_CLASSES } from './ocsf.ts';
import { list, namesOrUnknown, obj, oneOfNames, record, ref, string } from './schema.ts';

/** The kinds of access, and their op byte (BG_OP_SYSCTL_*). */
export const SYSCTL_OPS = new Numbered('sysctl access', { read: 1, write: 2 });
export type SysctlAccess = (typeof SYSCTL_OPS.names)[number];

export interface SysctlMatch {
  kind: 'sysctl';
  /** dotted names, exact */
  names: string[];
  /** dotted prefixes, each ending in '.' */
  prefixes: string[];
  access: SysctlAccess[];
}

export interface SysctlTarget {
  name: string;
  path: string;
  operation: string;
  newValue?: string;
}

type Checked = { value: string } | { code: DiagnosticCode; reason: string };

/** A dotted sysctl name ("kernel.core_pattern"), or a prefix ("net.ipv4.", a missing final dot is added). */
export function checkSysctl(raw: string, prefix: boolean): Checked {
  const value = prefix && !raw.endsWith('.') ? `${raw}.` : raw;
  const name = prefix ? value.slice(0, -1) : value;
  if (value.includes('*'))
    return { code: 'INVALID_GLOB', reason: `'${raw}': wildcards are not supported; use prefixes` };
  if (!/^[a-z0-9_]+(\.[A-Za-z0-9_:@+-]+)*$/.test(name) || (!prefix && !name.includes('.'))) {
    return {
      code: 'INVALID_VALUE',
      reason: `'${raw}' is not a dotted sysctl name such as kernel.core_pattern`,
    };
  }
  if (Buffer.byteLength(value, 'utf8') + 1 > PATH_MAX)
    return { code: 'PATH_TOO_LONG', reason: `'${raw.slice(0, 40)}...' is longer than ${PATH_MAX - 1} bytes` };
  return { value };
}

function readNames(r: MatchReader, m: Raw, key: 'names' | 'prefixes', path: string[]): string[] {
  const out: string[] = [];
  for (const [i, raw] of r.items<string>(m[key], [...path, key])) {
    const c = checkSysctl(raw, key === 'prefixes');
    if ('value' in c) out.push(c.value);
    else r.report(c.code, c.reason, [...path, key, String(i)]);
  }
  return dedupe(out);
}

const HOOKS = [{ program: 'bg_cg_sysctl' }] as const;

export const sysctl = defineKind<SysctlMatch, SysctlTarget>('sysctl', 13, {
  ops: SYSCTL_OPS,
  actions: ENFORCING,
  match: obj('sysctl match', 'Which sysctl accesses the rule matches (names and/or prefixes).', {
    names: list(ref('sysctlName'), 'Exact sysctl names, dotted: kernel.core_pattern.'),
    prefixes: list(ref('sysctlName'), 'Dotted prefixes: net.ipv4. matches every name below it.'),
    access: oneOfNames(SYSCTL_OPS.names, 'Kinds of access. Omitted: read and write.'),
  }),
  schemaDefs: { sysctlName: { schema: { type: 'string', description: 'A dotted sysctl name.' } } },
  normalize: (r, m, path) => {
    const names = readNames(r, m, 'names', path);
    const prefixes = readNames(r, m, 'prefixes', path);
    const written = ((m.names as unknown[]) ?? []).length + ((m.prefixes as unknown[]) ?? []).length;
    r.needTargets(written, 'sysctl names or prefixes', path);
    return { kind: 'sysctl', names, prefixes, access: r.qualifier(m, 'access', SYSCTL_OPS.names, path) };
  },
  targets: (m) => cross(m.access, [...m.names, ...m.prefixes]),
  budget: 'pathRules',
  entries: (m) => m.access.length * (m.names.length + m.prefixes.length),

  hooks: HOOKS,
  keys: (m, ctx) =>
    m.access.flatMap((acc) =>
      pathKeys(ctx, 13, SYSCTL_OPS.number(acc), m.names.map(sysctlPath), m.prefixes.map(sysctlPath)),
    ),
  units: () => wholeUnit('sysctl', HOOKS),

  target: record(['name', 'path', 'operation'], {
    name: string,
    path: { type: 'string', pattern: '^/proc/sys/' },
    operation: namesOrUnknown(SYSCTL_OPS.names),
    newValue: string,
  }),
  decode: (r) => {
    const name = r.path.replace(/^\/+/, '');
    const operation = SYSCTL_OPS.name(u32(r.args[0]) || r.op) ?? 'unknown';
    const value = cString(r.aux);
    return {
      name: name.replaceAll('/', '.'),
      path: `/proc/sys/${name}`,
      operation,
      ...(operation === 'write' && value ? { newValue: value.replace(/\n$/, '') } : {}),
    };
  },
  describe: (t) => `${t.operation} ${t.name}${t.newValue !== undefined ? `=${t.newValue}` : ''}`,
  ocsf: (e) => ({
    cls: OCSF_CLASSES.file,
    activity: e.target.operation === 'write' ? [3, 'Update'] : [2, 'Read'],
    fields: { file: fileObj(e.target.path) },
  }),

  representatives: [{ match: '{ names: [kernel.hostname] }' }],
});
