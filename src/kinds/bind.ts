// bind: binds by local address, port and protocol (the cgroup bind4/6
// hooks). Shared with connect: net.ts. BPF side: bpf/kinds/net.h (both kinds).
import { netKind } from './net.ts';
import { OCSF_CLASSES } from './ocsf.ts';

export const bind = netKind({
  name: 'bind',
  abi: 11,
  matches: 'binds',
  programs: { 4: 'bg_cg_bind4', 6: 'bg_cg_bind6' },
  direction: [1, 'Inbound'],
  ocsf: (endpoint, connection, host) => ({
    cls: OCSF_CLASSES.network,
    activity: [7, 'Listen'],
    fields: { src_endpoint: { ...endpoint, hostname: host }, connection_info: connection },
  }),
  representative: '{ ports: [8080] }',
});
