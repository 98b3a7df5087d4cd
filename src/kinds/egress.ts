// egress: outgoing packets on named interfaces, by destination address,
// destination port and protocol (tcx egress). Shared with ingress: packet.ts.
// BPF side: bpf/kinds/packet.h and bpf/net.bpf.c.
import { packetKind } from './packet.ts';

export const egress = packetKind('egress', 17, '{ interfaces: [eth0], addresses: [169.254.169.254/32] }');
