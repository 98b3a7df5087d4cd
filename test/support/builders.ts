// Builders for PolicySet objects in compiler tests: defaults for every field,
// overrides for what a test is about.
import type { Cidr, Match, Policy, PolicySet, Rule, Scope } from '../../src/policy/model.ts';

const pos = (line: number, file = 'test.yaml') => ({ file, line, column: 7 });

/** A rule; policy() gives it a position in the policy's file. */
export function rule(id: string, match: Match, over: Partial<Rule> = {}): Rule {
  return {
    id,
    kind: match.kind,
    action: 'block',
    severity: 'high',
    message: `${id} happened`,
    description: '',
    tags: [],
    match,
    unless: { executables: [], digests: {}, contents: [], uids: [], euids: [], cgroups: [] },
    unresolved: 'deny',
    pos: pos(1),
    ...over,
  };
}

export function scope(over: Partial<Scope> = {}): Scope {
  return { cgroups: [], executables: [], uids: [], euids: [], processes: 'all', ...over };
}

export function policy(name: string, rules: Rule[], over: Partial<Policy> = {}): Policy {
  return {
    name,
    description: '',
    severity: 'high',
    tags: [],
    labels: {},
    mode: 'enforce',
    defaultAction: 'allow',
    scope: scope(),
    rules: rules.map((r, i) => ({ ...r, pos: pos(10 + 6 * i, `${name}.yaml`) })),
    pos: pos(1, `${name}.yaml`),
    ...over,
  };
}

export function set(...policies: Policy[]): PolicySet {
  return { policies };
}

export function cidr(text: string): Cidr {
  const [addr = '', bitsText] = text.split('/');
  if (addr.includes(':')) {
    const [head = '', tail = ''] = addr.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
    const address = new Uint8Array(16);
    groups.forEach((g, i) => {
      const v = Number.parseInt(g, 16);
      address[2 * i] = v >> 8;
      address[2 * i + 1] = v & 0xff;
    });
    return { family: 6, address, bits: bitsText === undefined ? 128 : Number(bitsText), text };
  }
  const address = new Uint8Array(addr.split('.').map(Number));
  return { family: 4, address, bits: bitsText === undefined ? 32 : Number(bitsText), text };
}

/** One rule of every kind. */
export const MATCHES: Record<string, Match> = {
  exec: { kind: 'exec', paths: ['/usr/bin/nc'], directories: ['/tmp/'] },
  file: { kind: 'file', paths: ['/etc/shadow'], directories: [], operations: ['read', 'write'] },
  capability: { kind: 'capability', capabilities: ['CAP_SYS_ADMIN'] },
  module: { kind: 'module' },
  bpf: { kind: 'bpf', commands: ['BPF_PROG_LOAD'] },
  ptrace: { kind: 'ptrace', modes: ['attach'] },
  mount: { kind: 'mount', operations: ['mount'], fsTypes: ['proc'] },
  setuid: { kind: 'setuid', to: 'root', ids: ['uid'] },
  socket: { kind: 'socket', families: ['inet'], types: ['raw'] },
  connect: {
    kind: 'connect',
    addresses: [cidr('10.0.0.0/8')],
    ports: [{ from: 22, to: 22 }],
    protocols: ['tcp'],
  },
  bind: { kind: 'bind', addresses: [], ports: [{ from: 4444, to: 4444 }], protocols: ['any'] },
  device: { kind: 'device', devices: [{ type: 'char', major: 1, minor: 1 }], access: ['read'] },
  sysctl: { kind: 'sysctl', names: ['kernel.core_pattern'], prefixes: [], access: ['write'] },
  kprobe: { kind: 'kprobe', function: 'commit_creds' },
  ingress: {
    kind: 'ingress',
    interfaces: ['eth0'],
    addresses: [cidr('192.0.2.0/24')],
    ports: [{ from: 23, to: 23 }],
    protocols: ['tcp'],
  },
  egress: {
    kind: 'egress',
    interfaces: ['eth0'],
    addresses: [cidr('169.254.169.254')],
    ports: [],
    protocols: ['any'],
  },
  uprobe: { kind: 'uprobe', binary: '/usr/bin/bash', symbol: 'readline', capture: 'returned-string' },
};

/** The text of a policy `name` with one rule `id` of `kind` (a kind's own test file parses it). */
export function oneRulePolicy(o: {
  name: string;
  id: string;
  kind: string;
  action: string;
  match: string;
}): string {
  return `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: ${o.name} }
spec:
  rules:
    - id: ${o.id}
      kind: ${o.kind}
      action: ${o.action}
      match: ${o.match}
`;
}
