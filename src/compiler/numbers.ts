// Kernel numbers the policy model names symbolically (uapi values, x86-64).
import type { Protocol, SocketFamily, SocketType } from '../policy/model.ts';

/** linux/capability.h */
const CAP_NAMES =
  'CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE ' +
  'NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO ' +
  'SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG ' +
  'MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM ' +
  'BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE';

/** linux/capability.h: "CAP_SYS_ADMIN" -> 21 */
export const CAPABILITIES: Readonly<Record<string, number>> = Object.fromEntries(
  CAP_NAMES.split(' ').map((n, i) => [`CAP_${n}`, i]),
);

const BPF_CMD_NAMES =
  'MAP_CREATE MAP_LOOKUP_ELEM MAP_UPDATE_ELEM MAP_DELETE_ELEM MAP_GET_NEXT_KEY PROG_LOAD OBJ_PIN ' +
  'OBJ_GET PROG_ATTACH PROG_DETACH PROG_TEST_RUN PROG_GET_NEXT_ID MAP_GET_NEXT_ID PROG_GET_FD_BY_ID ' +
  'MAP_GET_FD_BY_ID OBJ_GET_INFO_BY_FD PROG_QUERY RAW_TRACEPOINT_OPEN BTF_LOAD BTF_GET_FD_BY_ID ' +
  'TASK_FD_QUERY MAP_LOOKUP_AND_DELETE_ELEM MAP_FREEZE BTF_GET_NEXT_ID MAP_LOOKUP_BATCH ' +
  'MAP_LOOKUP_AND_DELETE_BATCH MAP_UPDATE_BATCH MAP_DELETE_BATCH LINK_CREATE LINK_UPDATE ' +
  'LINK_GET_FD_BY_ID LINK_GET_NEXT_ID ENABLE_STATS ITER_CREATE LINK_DETACH PROG_BIND_MAP TOKEN_CREATE';

/** linux/bpf.h enum bpf_cmd: "BPF_PROG_LOAD" -> 5 (BPF_PROG_RUN is an alias of BPF_PROG_TEST_RUN) */
export const BPF_COMMANDS: Readonly<Record<string, number>> = Object.fromEntries([
  ...BPF_CMD_NAMES.split(' ').map((n, i): [string, number] => [`BPF_${n}`, i]),
  ['BPF_PROG_RUN', 10],
]);

/** linux/socket.h address families; 'any' is a wildcard */
export const ADDRESS_FAMILIES: Readonly<Record<Exclude<SocketFamily, 'any'>, number>> = {
  unix: 1,
  inet: 2,
  inet6: 10,
  netlink: 16,
  packet: 17,
  bluetooth: 31,
  vsock: 40,
  xdp: 44,
};

/** linux/net.h socket types */
export const SOCKET_TYPE_NUMBERS: Readonly<Record<Exclude<SocketType, 'any'>, number>> = {
  stream: 1,
  dgram: 2,
  raw: 3,
  seqpacket: 5,
};

/** netinet/in.h; 0 is "any protocol" in bg_net_key */
export const IP_PROTOCOLS: Readonly<Record<Protocol, number>> = { any: 0, tcp: 6, udp: 17 };

/** The families whose socket creation the cgroup sock_create hook sees (inet_create, inet6_create). */
export const CGROUP_SOCKET_FAMILIES: readonly SocketFamily[] = ['inet', 'inet6'];

export const DEVICE_TYPE: Readonly<Record<'char' | 'block', number>> = { char: 0x63, block: 0x62 };
