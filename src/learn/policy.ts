// What the learner saw, as an allowlist policy (YAML text with counts as
// comments): defaultAction: block in mode: audit, one allow rule per kind
// observed, so that everything observed would have been allowed and nothing
// else. Pure.
//
//   exec     the programs' paths; a directory (not a shared bin directory)
//            from which `dirThreshold` or more programs ran becomes a directory
//   connect  one rule per protocol and set of ports, with the addresses
//            (/32, /128) that were reached on exactly those ports
//   bind     the same, with the local addresses
//   file     reads allowed everywhere (a file allowlist covers every operation,
//            and reads are not learned); changes in the directories where
//            they were seen, one rule per set of operations (write and
//            create together: see allowedOps)
//   A kind the learner covers but saw nothing of gets a block rule for all of
//   it (an allowlist kind with no allow rule would not be an allowlist).
import { dirname } from 'node:path';
import { entry, type Learned, parseNetKey } from './learner.ts';

export const LEARNABLE = ['exec', 'connect', 'bind', 'file'] as const;
export type LearnKind = (typeof LEARNABLE)[number];

/** Directories whose programs are shared by everything: never generalised to the directory. */
export const SHARED_BIN_DIRS = [
  '/bin/',
  '/sbin/',
  '/usr/bin/',
  '/usr/sbin/',
  '/usr/local/bin/',
  '/usr/local/sbin/',
];

export const DEFAULT_DIR_THRESHOLD = 5;

export interface PolicyOptions {
  name: string;
  description?: string;
  /** the policy's scope, as written in it */
  cgroups: string[];
  executables: string[];
  /** the kinds to write rules for (default: all four) */
  kinds?: readonly LearnKind[];
  /** programs from one directory that make it a directory entry; 0: never */
  dirThreshold?: number;
  /** what the header says was read (a file, a stream) */
  source?: string;
}

const n = (x: number): string => x.toLocaleString('en-US');

/** A YAML scalar: bare when it is plainly a path, a CIDR or a word; JSON-quoted otherwise. */
export function scalar(s: string): string {
  return /^[A-Za-z0-9_./@+-][A-Za-z0-9_./@+:-]*$/.test(s) && !/^[-?:]/.test(s) ? s : JSON.stringify(s);
}

function iso(ns: string | null): string {
  return ns === null ? '-' : new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
}

/** A block list item with its count: `- /usr/bin/cat  # 12`. */
function item(indent: string, value: string, comment: string): string {
  return `${indent}- ${scalar(value)}  # ${comment}`;
}

function ruleHead(lines: string[], id: string, kind: string, action: string, comment?: string): void {
  if (comment) lines.push(`    # ${comment}`);
  lines.push(`    - id: ${id}`, `      kind: ${kind}`, `      action: ${action}`, '      match:');
}

function execRules(l: Learned, o: PolicyOptions, lines: string[]): void {
  if (l.exec.size === 0) {
    ruleHead(lines, 'exec-none', 'exec', 'block', 'no program execution was observed: every one is blocked');
    lines.push('        directories: [/]');
    return;
  }
  const threshold = o.dirThreshold ?? DEFAULT_DIR_THRESHOLD;
  const byDir = new Map<string, [string, number][]>();
  for (const [path, count] of l.exec) {
    const d = `${dirname(path)}/`.replace(/^\/\/$/, '/');
    byDir.set(d, [...(byDir.get(d) ?? []), [path, count]]);
  }
  const paths: [string, number][] = [];
  const dirs: [string, [string, number][]][] = [];
  for (const [d, programs] of [...byDir].sort()) {
    if (threshold > 0 && programs.length >= threshold && !SHARED_BIN_DIRS.includes(d))
      dirs.push([d, programs]);
    else paths.push(...programs);
  }
  ruleHead(lines, 'programs', 'exec', 'allow', `${n(l.exec.size)} program(s) executed`);
  if (paths.length > 0) {
    lines.push('        paths:');
    for (const [p, c] of paths.sort()) lines.push(item('          ', p, n(c)));
  }
  if (dirs.length > 0) {
    lines.push('        directories:');
    for (const [d, programs] of dirs) {
      const total = programs.reduce((s, [, c]) => s + c, 0);
      lines.push(item('          ', d, `${n(total)}, ${programs.length} programs`));
    }
  }
}

function netRules(kind: 'connect' | 'bind', seen: Map<string, number>, lines: string[]): void {
  const what = kind === 'connect' ? 'outgoing connection' : 'bind';
  if (seen.size === 0) {
    ruleHead(lines, `${kind}-none`, kind, 'block', `no ${what} was observed: every one is blocked`);
    lines.push('        protocols: [any]');
    return;
  }
  // address → protocol → port → count
  const byAddr = new Map<string, Map<string, Map<number, number>>>();
  for (const [k, count] of seen) {
    const u = parseNetKey(k);
    const cidr = `${u.address}/${u.family === 'ipv4' ? 32 : 128}`;
    const protos = entry(byAddr, cidr, () => new Map<string, Map<number, number>>());
    const ports = entry(protos, u.protocol, () => new Map<number, number>());
    ports.set(u.port, (ports.get(u.port) ?? 0) + count);
  }
  // group addresses reached with the same protocol on the same ports: one rule each
  const groups = new Map<string, { protocol: string; ports: number[]; addrs: [string, number][] }>();
  for (const [cidr, protos] of byAddr) {
    for (const [protocol, ports] of protos) {
      const list = [...ports.keys()].sort((a, b) => a - b);
      const key = `${protocol} ${list.join(',')}`;
      const g = groups.get(key) ?? { protocol, ports: list, addrs: [] };
      g.addrs.push([cidr, [...ports.values()].reduce((s, c) => s + c, 0)]);
      groups.set(key, g);
    }
  }
  let i = 0;
  for (const g of [...groups.values()].sort((a, b) =>
    (a.protocol + a.ports).localeCompare(b.protocol + b.ports),
  )) {
    i++;
    const anyPort = g.ports.includes(0);
    ruleHead(
      lines,
      `${kind}-${i}`,
      kind,
      'allow',
      anyPort
        ? `port 0 seen: the kernel picks the port, so any port is allowed on these addresses`
        : undefined,
    );
    lines.push('        addresses:');
    for (const [cidr, c] of g.addrs.sort()) lines.push(item('          ', cidr, n(c)));
    const ports = g.ports.filter((p) => p !== 0);
    if (!anyPort) lines.push(`        ports: [${ports.join(', ')}]`);
    if (g.protocol === 'tcp' || g.protocol === 'udp') lines.push(`        protocols: [${g.protocol}]`);
  }
}

/**
 * The operations to allow for those seen in a directory: writing and creating
 * go together. An open for writing with O_CREAT is a create for the system-call
 * fallback whether or not the file exists (it cannot know), and a write for
 * BPF-LSM, which sees the create only when the file is new: a service seen
 * rewriting its file would otherwise be stopped the first time it is seen
 * differently.
 */
function allowedOps(seen: Iterable<string>): Set<string> {
  const ops = new Set(seen);
  if (ops.has('write') || ops.has('create')) for (const op of ['write', 'create']) ops.add(op);
  return ops;
}

function fileRules(l: Learned, lines: string[]): void {
  ruleHead(
    lines,
    'reads',
    'file',
    'allow',
    'reads are not learned: allowed everywhere (a file allowlist covers every operation)',
  );
  lines.push('        directories: [/]', '        operations: [read]');
  if (l.writes.size === 0) {
    lines.push('    # no file change was observed: every other file operation is blocked');
    return;
  }
  const groups = new Map<string, [string, Map<string, number>][]>();
  for (const [dir, ops] of [...l.writes].sort()) {
    const key = [...allowedOps(ops.keys())].sort().join(', ');
    groups.set(key, [...(groups.get(key) ?? []), [dir, ops]]);
  }
  let i = 0;
  for (const [ops, dirs] of groups) {
    i++;
    ruleHead(lines, `changes-${i}`, 'file', 'allow');
    lines.push('        directories:');
    for (const [dir, counts] of dirs) {
      const c = [...counts].map(([op, x]) => `${op} ${n(x)}`).join(', ');
      lines.push(item('          ', dir, c));
    }
    lines.push(`        operations: [${ops}]`);
  }
}

/** The allowlist policy, as YAML text that `bpfgate validate` accepts. */
export function renderPolicy(l: Learned, o: PolicyOptions): string {
  const kinds = o.kinds ?? LEARNABLE;
  const lines = [
    `# Learned by bpfgate learn from ${n(l.events)} audit event(s)${o.source ? ` in ${o.source}` : ''},`,
    `# ${iso(l.firstNs)} to ${iso(l.lastNs)}. The counts are how often each was seen.`,
    '# Everything observed would be allowed, and nothing else of the learned kinds',
    `# (${kinds.join(', ')}). Review each entry, run it in audit mode for a while`,
    '# (bpfgate report shows what it would block), then set mode: enforce.',
    'apiVersion: bpfgate.dev/v1',
    'kind: Policy',
    'metadata:',
    `  name: ${o.name}`,
    `  description: ${scalar(o.description ?? `Allowlist learned from what ${o.cgroups[0] ?? o.executables[0] ?? 'the scope'} did while observed.`)}`,
    '  severity: high',
    '  tags: [T1059, T1071, learned]',
    'spec:',
    '  mode: audit',
    '  defaultAction: block',
    '  scope:',
  ];
  if (o.cgroups.length > 0) lines.push(`    cgroups: [${o.cgroups.map(scalar).join(', ')}]`);
  if (o.executables.length > 0) lines.push(`    executables: [${o.executables.map(scalar).join(', ')}]`);
  lines.push('  rules:');
  if (kinds.includes('exec')) execRules(l, o, lines);
  if (kinds.includes('connect')) netRules('connect', l.connect, lines);
  if (kinds.includes('bind')) netRules('bind', l.bind, lines);
  if (kinds.includes('file')) fileRules(l, lines);
  return `${lines.join('\n')}\n`;
}
