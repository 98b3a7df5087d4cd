// A cgroup v2 directory of the test's own under /sys/fs/cgroup/unified, and
// child processes started inside it. Only the test's own children are ever
// moved into it; it is removed afterwards. Never the root cgroup.
import { execFile } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync } from 'node:fs';

export const CGROUP2_ROOT = '/sys/fs/cgroup/unified';

export interface TestCgroup {
  path: string;
  /** the cgroup id (its inode number) */
  id: bigint;
  remove(): Promise<void>;
}

export function createCgroup(name: string): TestCgroup {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad cgroup name ${name}`);
  const path = `${CGROUP2_ROOT}/${name}`;
  mkdirSync(path);
  const id = statSync(path, { bigint: true }).ino;
  return {
    path,
    id,
    async remove() {
      // rmdir refuses while a just-exited child is still being released
      for (let i = 0; ; i++) {
        try {
          rmdirSync(path);
          return;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
          if (i >= 50) throw e;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    },
  };
}

/** Run argv; when cgroup is given, the child moves itself into it first (sh: echo $$ > cgroup.procs; exec). */
export function run(argv: string[], cgroup?: string): Promise<{ code: number | null; stdout: string }> {
  const [cmd, args] = cgroup
    ? ['sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...argv]]
    : [argv[0]!, argv.slice(1)];
  return new Promise((resolve) => {
    execFile(cmd, args as string[], (err, stdout) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout: String(stdout) });
    });
  });
}

const RAW_SOCKET_PY = `
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    print("ok")
except OSError as e:
    print("errno", e.errno)
`;

/** Try socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) in a child: "ok" or "errno N". */
export async function tryRawSocket(cgroup?: string): Promise<string> {
  const r = await run(['python3', '-c', RAW_SOCKET_PY], cgroup);
  return r.stdout.trim();
}
