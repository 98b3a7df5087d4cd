// The kernel's numbers that bpfgate names, one table per kernel enumeration,
// read in both directions: name → number where a policy's names become map
// keys (the compiler), number → name where a record's numbers become an
// event's names (the decoder). uapi values, x86-64. Pure.

/**
 * Names and their numbers, looked up either way: a kernel enumeration here,
 * a rule kind's operations (the op byte of its keys and records) in src/kinds/.
 */
export class Numbered<N extends string> {
  /** what one value is, for messages: "capability", "address family" */
  readonly what: string;
  /** every name, in the order of the table */
  readonly names: readonly N[];
  readonly #byName: ReadonlyMap<string, number>;
  readonly #byNumber: ReadonlyMap<number, N>;

  constructor(what: string, entries: Readonly<Record<N, number>>) {
    this.what = what;
    this.names = Object.keys(entries) as N[];
    this.#byName = new Map(Object.entries(entries) as [N, number][]);
    this.#byNumber = new Map((Object.entries(entries) as [N, number][]).map(([n, v]) => [v, n]));
  }

  /** The names in kernel order, numbered from 0 (capabilities, bpf commands). */
  static indexed<N extends string>(what: string, names: readonly N[]): Numbered<N> {
    return new Numbered(what, Object.fromEntries(names.map((n, i) => [n, i])) as Record<N, number>);
  }

  has(name: string): name is N {
    return this.#byName.has(name);
  }

  /** The number of a name; a RangeError for a name the table does not hold. */
  number(name: string): number {
    const v = this.#byName.get(name);
    if (v === undefined) throw new RangeError(`unknown ${this.what} ${name}`);
    return v;
  }

  /** The name of a number, or undefined. */
  name(value: number): N | undefined {
    return this.#byNumber.get(value);
  }

  /** The names of the bits set in `mask`, in table order. */
  bits(mask: number): N[] {
    return this.names.filter((n) => (mask & this.number(n)) !== 0);
  }
}

/** include/uapi/linux/capability.h: CAPABILITY.number(name) is the capability's number. */
export const CAPABILITY = Numbered.indexed('capability', [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const);
export type Capability = (typeof CAPABILITY.names)[number];

/** include/uapi/linux/bpf.h, enum bpf_cmd. The alias BPF_PROG_RUN is written BPF_PROG_TEST_RUN. */
export const BPF_COMMAND = Numbered.indexed('bpf command', [
  'BPF_MAP_CREATE',
  'BPF_MAP_LOOKUP_ELEM',
  'BPF_MAP_UPDATE_ELEM',
  'BPF_MAP_DELETE_ELEM',
  'BPF_MAP_GET_NEXT_KEY',
  'BPF_PROG_LOAD',
  'BPF_OBJ_PIN',
  'BPF_OBJ_GET',
  'BPF_PROG_ATTACH',
  'BPF_PROG_DETACH',
  'BPF_PROG_TEST_RUN',
  'BPF_PROG_GET_NEXT_ID',
  'BPF_MAP_GET_NEXT_ID',
  'BPF_PROG_GET_FD_BY_ID',
  'BPF_MAP_GET_FD_BY_ID',
  'BPF_OBJ_GET_INFO_BY_FD',
  'BPF_PROG_QUERY',
  'BPF_RAW_TRACEPOINT_OPEN',
  'BPF_BTF_LOAD',
  'BPF_BTF_GET_FD_BY_ID',
  'BPF_TASK_FD_QUERY',
  'BPF_MAP_LOOKUP_AND_DELETE_ELEM',
  'BPF_MAP_FREEZE',
  'BPF_BTF_GET_NEXT_ID',
  'BPF_MAP_LOOKUP_BATCH',
  'BPF_MAP_LOOKUP_AND_DELETE_BATCH',
  'BPF_MAP_UPDATE_BATCH',
  'BPF_MAP_DELETE_BATCH',
  'BPF_LINK_CREATE',
  'BPF_LINK_UPDATE',
  'BPF_LINK_GET_FD_BY_ID',
  'BPF_LINK_GET_NEXT_ID',
  'BPF_ENABLE_STATS',
  'BPF_ITER_CREATE',
  'BPF_LINK_DETACH',
  'BPF_PROG_BIND_MAP',
  'BPF_TOKEN_CREATE',
] as const);
export type BpfCommand = (typeof BPF_COMMAND.names)[number];

/** include/linux/socket.h address families (AF_*). */
export const ADDRESS_FAMILY = new Numbered('address family', {
  unix: 1,
  inet: 2,
  inet6: 10,
  netlink: 16,
  packet: 17,
  bluetooth: 31,
  vsock: 40,
  xdp: 44,
});

/** include/linux/net.h socket types (SOCK_*), without the SOCK_NONBLOCK and SOCK_CLOEXEC flags. */
export const SOCKET_TYPE = new Numbered('socket type', {
  stream: 1,
  dgram: 2,
  raw: 3,
  rdm: 4,
  seqpacket: 5,
  dccp: 6,
  packet: 10,
});
/** The bits of a socket type argument that are the type (linux/net.h SOCK_TYPE_MASK). */
export const SOCKET_TYPE_MASK = 0xf;

/** include/uapi/linux/in.h IPPROTO_* (and IPPROTO_ICMPV6). */
export const IP_PROTOCOL = new Numbered('IP protocol', {
  icmp: 1,
  tcp: 6,
  udp: 17,
  icmpv6: 58,
  sctp: 132,
});

/** Device node types as the cgroup device hook's keys hold them: 'c' and 'b'. */
export const DEVICE_TYPE = new Numbered('device type', { char: 0x63, block: 0x62 });

/** include/uapi/linux/bpf.h BPF_DEVCG_ACC_* (struct bpf_cgroup_dev_ctx access bits). */
export const DEVICE_ACCESS_BIT = new Numbered('device access', { mknod: 1, read: 2, write: 4 });

/** include/uapi/linux/mount.h MS_* flags worth naming in events. */
export const MOUNT_FLAG = new Numbered('mount flag', {
  ro: 1,
  nosuid: 2,
  nodev: 4,
  noexec: 8,
  remount: 32,
  bind: 4096,
  move: 8192,
  rec: 16384,
});

/** include/linux/ptrace.h PTRACE_MODE_* (what ptrace_access_check is asked for). */
export const PTRACE_MODE = new Numbered('ptrace mode', { read: 0x01, attach: 0x02 });
