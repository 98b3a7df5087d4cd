// A cgroup v2 directory of a test's (or a benchmark's) own, and processes
// started inside it. Enforcement on the host is scoped to such a cgroup
// (KERNEL.md, "Safety"): only the test's own children are ever moved into it,
// and it is removed afterwards. Never the root cgroup.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from './child.ts';

/** This host's cgroup v2 tree (a hybrid layout: v2 under unified/). */
export const HOST_CGROUP2_ROOT = '/sys/fs/cgroup/unified';

/** The cgroup v2 root here: the host's unified/ tree, or /sys/fs/cgroup on a pure v2 machine (the guest). */
export function cgroup2Root(): string {
  if (existsSync(`${HOST_CGROUP2_ROOT}/cgroup.procs`)) return HOST_CGROUP2_ROOT;
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return '/sys/fs/cgroup';
  throw new Error('no cgroup v2 mount');
}

export interface TestCgroup {
  /** absolute directory */
  path: string;
  /** path from the cgroup2 root, for policy scopes (/name) */
  rel: string;
  /** the cgroup id (its inode number) */
  id: bigint;
  /** pids in the cgroup now */
  pids(): number[];
  /** rmdir (the cgroups a test made below it first), retried while a just-exited child is still being released */
  remove(): Promise<void>;
}

/** Make `<cgroup2 root>/<name>` (lowercase letters, digits and -). */
export function createCgroup(name: string): TestCgroup {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad cgroup name ${name}`);
  const rel = `/${name}`;
  const path = `${cgroup2Root()}${rel}`;
  mkdirSync(path);
  const id = statSync(path, { bigint: true }).ino;
  return {
    path,
    rel,
    id,
    pids: () => readFileSync(`${path}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number),
    remove: () => removeCgroupTree(path),
  };
}

/** The cgroups below `dir` (directories: the cgroup's own files are not), deepest first. */
function descendants(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory())
    .flatMap((e) => [...descendants(`${dir}/${e.name}`), `${dir}/${e.name}`]);
}

/** The pids in `dir` and every cgroup below it. */
export function cgroupTreePids(dir: string): number[] {
  return [dir, ...descendants(dir)].flatMap((d) => {
    try {
      return readFileSync(`${d}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

/** rmdir a test's cgroup and the cgroups it made below it, retried while an exited child is being released. */
export async function removeCgroupTree(dir: string): Promise<void> {
  for (const d of [...descendants(dir), dir]) {
    for (let i = 0; ; i++) {
      try {
        rmdirSync(d);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
        if (i >= 100) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/** argv that moves itself into `cgroup` (a directory) first, then execs argv: sh -c 'echo $$ > cgroup.procs; exec'. */
export function inCgroup(argv: readonly string[], cgroup: string): string[] {
  return ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...argv];
}

/** A child run to completion: its pid (to find its events), how it ended, its stdout. */
export interface Attempt {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
}

/** Run argv to completion, inside `cgroup` when given, with `input` on its stdin (closed either way). */
export function attemptIn(argv: readonly string[], cgroup: string | undefined, input = ''): Promise<Attempt> {
  const [cmd, ...rest] = cgroup ? inCgroup(argv, cgroup) : argv;
  const child = spawn(cmd!, rest);
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  // a child killed (or done) before it reads its input closes the pipe: EPIPE is expected
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ pid: child.pid!, code, signal, stdout }));
  });
}

/** Run argv to completion, inside `cgroup` when given. */
export async function run(argv: string[], cgroup?: string): Promise<{ code: number | null; stdout: string }> {
  const r = await runCommand(cgroup ? inCgroup(argv, cgroup) : argv, { timeoutMs: 0 });
  return { code: r.code, stdout: r.stdout };
}

const RAW_SOCKET_PY = `
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    print("ok")
except OSError as e:
    print("errno", e.errno)
`;

/**
 * The fleet form of rawSocketPolicy (below), for a bucket: its `action` as asked and
 * the hosts it selects (bpfgate.dev/hosts). Its action is on line 13, column 15.
 */
export function fleetRawSocketPolicy(rel: string, action: string, hosts = 'role=web'): string {
  return `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: no-raw
  labels:
    bpfgate.dev/hosts: "${hosts}"
spec:
  scope:
    cgroups: [${rel}]
  rules:
    - id: raw
      kind: socket
      action: ${action}
      match: { families: [inet], types: [raw] }
`;
}

/** Try socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) in a child: "ok" or "errno N". */
export async function tryRawSocket(cgroup?: string): Promise<string> {
  const r = await run(['python3', '-c', RAW_SOCKET_PY], cgroup);
  return r.stdout.trim();
}

/** A policy named `name` that blocks raw inet sockets in `cg` only (as YAML text). */
export function rawSocketPolicy(name: string, cg: TestCgroup): string {
  return `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: ${name} }
spec:
  scope: { cgroups: [${cg.rel}] }
  rules:
    - { id: raw-inet, kind: socket, action: block, match: { families: [inet], types: [raw] } }
`;
}

/** A new folder in the temporary directory holding rawSocketPolicy(name, cg) as raw.yaml. */
export function rawSocketPolicyDir(name: string, cg: TestCgroup): string {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  writeFileSync(join(dir, 'raw.yaml'), rawSocketPolicy(name, cg));
  return dir;
}
