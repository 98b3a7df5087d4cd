// The typed policy model: what `policy/` produces from YAML and `compiler/`
// consumes. Pure data, no I/O. Every node that can be the subject of an error
// carries the source position it came from.

export interface SourcePos {
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
}

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const RULE_KINDS = [
  'exec',
  'file',
  'capability',
  'module',
  'bpf',
  'ptrace',
  'mount',
  'setuid',
  'socket',
  'connect',
  'bind',
  'device',
  'sysctl',
  'kprobe',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** What a matching rule does. `allow` only exists for exec, file, connect and bind (allowlist posture). */
export const ACTIONS = ['block', 'kill', 'audit', 'allow'] as const;
export type Action = (typeof ACTIONS)[number];

export const MODES = ['enforce', 'audit'] as const;
export type Mode = (typeof MODES)[number];

export const FILE_OPERATIONS = [
  'read',
  'write',
  'create',
  'unlink',
  'rename',
  'chmod',
  'chown',
  'link',
  'truncate',
] as const;
export type FileOperation = (typeof FILE_OPERATIONS)[number];

export const MOUNT_OPERATIONS = ['mount', 'umount', 'pivot_root'] as const;
export type MountOperation = (typeof MOUNT_OPERATIONS)[number];

export const PTRACE_MODES = ['attach', 'read'] as const;
export type PtraceMode = (typeof PTRACE_MODES)[number];

export const SOCKET_FAMILIES = [
  'unix',
  'inet',
  'inet6',
  'netlink',
  'packet',
  'bluetooth',
  'vsock',
  'xdp',
  'any',
] as const;
export type SocketFamily = (typeof SOCKET_FAMILIES)[number];
export const SOCKET_TYPES = ['stream', 'dgram', 'raw', 'seqpacket', 'any'] as const;
export type SocketType = (typeof SOCKET_TYPES)[number];

export const PROTOCOLS = ['tcp', 'udp', 'any'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const DEVICE_ACCESS = ['read', 'write', 'mknod'] as const;
export type DeviceAccess = (typeof DEVICE_ACCESS)[number];

export const SYSCTL_ACCESS = ['read', 'write'] as const;
export type SysctlAccess = (typeof SYSCTL_ACCESS)[number];

/** Which processes a policy (or an exception) covers. Empty lists mean "no restriction". */
export interface Scope {
  /** cgroup v2 paths relative to the cgroup2 root, e.g. "/system.slice/*.service", "/kubepods/**". */
  cgroups: string[];
  /** Absolute paths of acting executables (exact). */
  executables: string[];
  uids: number[];
  /** host: processes in the host's pid namespace; containers: any other; all: both. */
  processes: 'all' | 'host' | 'containers';
}

export interface Exceptions {
  executables: string[];
  uids: number[];
  cgroups: string[];
}

export interface PortRange {
  from: number;
  to: number;
}

/** A parsed CIDR. `bits` is the prefix length. IPv4 addresses are 4 bytes, IPv6 16. */
export interface Cidr {
  family: 4 | 6;
  address: Uint8Array;
  bits: number;
  /** as written, for messages and explain output */
  text: string;
}

export type Match =
  | { kind: 'exec'; paths: string[]; directories: string[] }
  | { kind: 'file'; paths: string[]; directories: string[]; operations: FileOperation[] }
  | { kind: 'capability'; capabilities: string[] /* canonical "CAP_SYS_ADMIN" */ }
  | { kind: 'module' }
  | { kind: 'bpf'; commands: string[] /* canonical "BPF_PROG_LOAD"; empty = every command */ }
  | { kind: 'ptrace'; modes: PtraceMode[] }
  | { kind: 'mount'; operations: MountOperation[]; fsTypes: string[] /* empty = any */ }
  | { kind: 'setuid'; to: 'root' | 'any' }
  | { kind: 'socket'; families: SocketFamily[]; types: SocketType[] }
  | {
      kind: 'connect' | 'bind';
      addresses: Cidr[] /* empty = any */;
      ports: PortRange[] /* empty = any */;
      protocols: Protocol[];
    }
  | { kind: 'device'; devices: DeviceSelector[]; access: DeviceAccess[] }
  | { kind: 'sysctl'; names: string[]; prefixes: string[]; access: SysctlAccess[] }
  | { kind: 'kprobe'; function: string };

export interface DeviceSelector {
  type: 'char' | 'block';
  /** null = any ("*") */
  major: number | null;
  minor: number | null;
}

export interface Rule {
  /** unique within its policy */
  id: string;
  kind: RuleKind;
  action: Action;
  severity: Severity;
  message: string;
  description: string;
  tags: string[];
  match: Match;
  unless: Exceptions;
  pos: SourcePos;
}

export interface Policy {
  name: string;
  description: string;
  severity: Severity;
  /** MITRE ATT&CK technique ids and free-form labels */
  tags: string[];
  labels: Record<string, string>;
  mode: Mode;
  /** `block` turns exec, file, connect and bind into allowlists: only what an `allow` rule names may happen in scope. */
  defaultAction: 'allow' | 'block';
  scope: Scope;
  rules: Rule[];
  pos: SourcePos;
}

/** A validated, complete set of policies: the only input the compiler accepts. */
export interface PolicySet {
  policies: Policy[];
}
