// The coverage run inside the guest (test/coverage/run.ts boots it): the real
// daemon on the starter policies in enforce mode, enforcing everywhere (this
// is the QEMU guest, on a writable overlay of the host's root), then every
// planned atomic test in a cgroup of its own (/atomics/<n>), its
// prerequisites checked (and fetched when that needs no internet) in another
// cgroup, its cleanup in a third. Whatever a test leaves running is killed
// with its cgroup. Writes results.json and the daemon's events to OUT.
//   node test/coverage/guest-run.ts PLAN.json OUT_DIR
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { BPFGATE, PROJECT_ROOT } from '../support/paths.ts';
import type { PlannedTest } from './atomics.ts';

const [planFile, out] = process.argv.slice(2) as [string, string];
const plan = JSON.parse(readFileSync(planFile, 'utf8')) as PlannedTest[];
const CG_ROOT = '/sys/fs/cgroup/atomics';
const TEST_TIMEOUT_S = 60;
const ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  USER: 'root',
  LOGNAME: 'root',
  SHELL: '/bin/bash',
  LANG: 'C.UTF-8',
  TERM: 'xterm',
};

const SUDO = `#!/bin/sh
# written by the coverage run: every test already runs as root
while [ $# -gt 0 ]; do
  case "$1" in
    -u|-g|-C|-D|-h|-p|-r|-t|-U) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
[ $# -eq 0 ] && exec /bin/sh
exec "$@"
`;

export interface TestRun {
  id: string;
  /** the test's cgroup id (events are matched on it) */
  cgroupId: string;
  /** prerequisites not met (then the command did not run) */
  prereq?: string;
  exit: number | null;
  signal: string | null;
  ms: number;
  stdout: string;
  stderr: string;
  /** the daemon was not running after the test (it was started again) */
  daemonDied?: boolean;
}

const tail = (s: string | undefined, n = 600): string => (s ?? '').slice(-n);

function cgroup(name: string): string {
  const dir = `${CG_ROOT}/${name}`;
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Kill everything left in a cgroup and remove it. */
function clear(dir: string): void {
  if (!existsSync(dir)) return;
  try {
    writeFileSync(`${dir}/cgroup.kill`, '1');
  } catch {
    // nothing left to kill
  }
  for (let i = 0; i < 100; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch {
      spawnSync('sleep', ['0.1']);
    }
  }
}

/** Run `shell -c script` inside cgroup `dir`, with a hard timeout. */
function inCgroup(dir: string, shell: string, script: string, timeoutS: number) {
  return spawnSync(
    '/bin/sh',
    [
      '-c',
      'echo $$ > "$0/cgroup.procs" && exec timeout -s KILL "$1" "$2" -c "$3"',
      dir,
      String(timeoutS),
      shell,
      script,
    ],
    {
      encoding: 'utf8',
      env: ENV,
      cwd: '/root',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 16 << 20,
      timeout: (timeoutS + 15) * 1000,
    },
  );
}

let daemon: ReturnType<typeof spawn> | undefined;
let starts = 0;
function startDaemon(): void {
  starts++;
  const events = openSync(path.join(out, 'events.jsonl'), 'a');
  const log = path.join(out, `daemon-${starts}.log`);
  const logFd = openSync(log, 'w');
  daemon = spawn(
    process.execPath,
    [
      BPFGATE,
      'run',
      '--policies',
      path.join(PROJECT_ROOT, 'policies'),
      '--pin-root',
      'off',
      '--no-policy-watch',
    ],
    { cwd: PROJECT_ROOT, stdio: ['ignore', events, logFd], env: { ...process.env } },
  );
  closeSync(events);
  closeSync(logFd);
  for (let i = 0; i < 1200; i++) {
    if (readFileSync(log, 'utf8').includes('bpfgate is enforcing')) return;
    if (!daemonRunning()) break;
    spawnSync('sleep', ['0.25']);
  }
  throw new Error(`the daemon did not start:\n${readFileSync(log, 'utf8').slice(-3000)}`);
}

/** From /proc: the event loop is blocked in spawnSync, so the child's exit is not seen by node until later. */
function daemonRunning(): boolean {
  if (daemon?.pid === undefined) return false;
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${daemon.pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

mkdirSync(out, { recursive: true });
mkdirSync(CG_ROOT, { recursive: true });
mkdirSync('/root', { recursive: true });
// The tests run as root; many call sudo, which this machine may not have. On
// the overlay (nothing of it outlives the run), a sudo that only runs the command.
if (spawnSync('sh', ['-c', 'command -v sudo'], { env: ENV }).status !== 0) {
  writeFileSync('/usr/local/bin/sudo', SUDO, { mode: 0o755 });
}
startDaemon();
const runs: TestRun[] = [];
plan.forEach((t, n) => {
  if (t.notRun) return;
  const started = Date.now();
  process.stderr.write(`[${n + 1}/${plan.length}] ${t.id} ${t.name}\n`);
  // prerequisites: checked, and fetched where that needs no internet
  let prereq: string | undefined;
  const pre = cgroup(`prereq-${n}`);
  for (const d of t.dependencies) {
    if (!d.prereq.trim()) continue;
    if (inCgroup(pre, t.depShell, d.prereq, 60).status === 0) continue;
    if (!d.online && d.getPrereq.trim()) {
      inCgroup(pre, t.depShell, d.getPrereq, 120);
      if (inCgroup(pre, t.depShell, d.prereq, 60).status === 0) continue;
    }
    prereq = `${d.description || 'a prerequisite'}${d.online ? ' (getting it needs the internet)' : ''}`;
    break;
  }
  clear(pre);
  const dir = cgroup(`t${n}`);
  const cgroupId = String(statSync(dir).ino);
  let r: ReturnType<typeof inCgroup> | undefined;
  if (prereq === undefined) r = inCgroup(dir, t.shell, t.command, TEST_TIMEOUT_S);
  spawnSync('sleep', ['0.3']); // the last records reach the daemon
  clear(dir);
  if (t.cleanup.trim()) {
    const c = cgroup(`cleanup-${n}`);
    inCgroup(c, t.shell, t.cleanup, 60);
    clear(c);
  }
  const run: TestRun = {
    id: t.id,
    cgroupId,
    ...(prereq !== undefined ? { prereq } : {}),
    exit: r ? r.status : null,
    signal: r ? r.signal : null,
    ms: Date.now() - started,
    stdout: tail(r?.stdout),
    stderr: tail(r?.stderr),
  };
  if (!daemonRunning()) {
    run.daemonDied = true;
    startDaemon();
  }
  runs.push(run);
  writeFileSync(path.join(out, 'runs.json'), JSON.stringify(runs));
});
daemon?.kill('SIGTERM');
for (let i = 0; i < 120 && daemonRunning(); i++) spawnSync('sleep', ['0.25']);
writeFileSync(path.join(out, 'runs.json'), JSON.stringify(runs));
process.stderr.write(`done: ${runs.length} tests run\n`);
process.exit(0);
