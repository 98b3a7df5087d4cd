// Kernel numbers the policy model names symbolically (uapi values, x86-64).
import type { Protocol, SocketFamily, SocketType } from '../policy/model.ts';

/** linux/capability.h */
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
