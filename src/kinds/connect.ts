// connect: outgoing connections by destination address, port and protocol
// (the cgroup connect4/6 hooks). Shared with bind: net.ts. BPF side:
// bpf/kinds/net.h (both kinds).
import { netKind } from './net.ts';

export const connect = netKind('connect', 10, 'destination', [{ match: '{ ports: [443] }' }]);
