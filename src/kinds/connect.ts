// connect: outgoing connections by address, port and protocol (the cgroup
// connect4/6 hooks). Shared with bind: net.ts. BPF side: bpf/kinds/net.h (both kinds).
import { netKind } from './net.ts';
import { OCSF_CLASSES } from './ocsf.ts';

export const connect = netKind({
  name: 'connect',
  abi: 10,
  matches: 'outgoing connections',
  programs: { 4: 'bg_cg_connect4', 6: 'bg_cg_connect6' },
  direction: [2, 'Outbound'],
  ocsf: (endpoint, connection, host) => ({
    cls: OCSF_CLASSES.network,
    activity: [1, 'Open'],
    fields: { src_endpoint: { hostname: host }, dst_endpoint: endpoint, connection_info: connection },
  }),
  representative: '{ ports: [443] }',
});
