// ingress: incoming packets on named interfaces, by source address,
// destination port and protocol (tcx ingress, or XDP). Shared with egress:
// packet.ts. BPF side: bpf/kinds/packet.h and bpf/net.bpf.c.
import { packetKind } from './packet.ts';

export const ingress = packetKind('ingress', 16, '{ interfaces: [eth0], ports: [23] }');
