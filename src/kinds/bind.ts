// bind: binds by local address, port and protocol (the cgroup bind4/6
// hooks). Shared with connect: net.ts. BPF side: bpf/kinds/net.h (both kinds).
import { netKind } from './net.ts';

export const bind = netKind('bind', 11, 'local', [
  { match: '{ ports: [8080] }' },
  // any port: listen() without bind() is one of its paths
  { rule: 'bind-listen', match: '{ protocols: [tcp] }' },
]);
