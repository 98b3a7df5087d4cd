// The runner of the end-to-end suites: runs inside the QEMU guest (started by
// test/support/guest-scenario.ts through runInGuest), or on this host for the
// host's column (test/support/kernel-suite.ts). It first runs the scenario's
// commands (doctor, compile: each one's output kept), then for each phase it
// runs the phase's set-up, starts `bpfgate run ARGS` through the daemon
// launcher (test/support/daemon.ts, output to files in /tmp), waits for
// "bpfgate is enforcing", runs the cases one after another (each records its
// exit status, the attacker's JSON report and what its check saw after it),
// lets the last events arrive, stops the daemon with SIGTERM and writes
// everything (cases, the daemon's stdout events, its log) to
// $BPFGATE_VM_OUT/result.json, rewritten after every phase.
//
//   node test/support/guest-runner.ts SPEC.json
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DaemonProcess } from './daemon.ts';
import { sleep } from './wait.ts';

export interface CaseSpec {
  name: string;
  /** the attacker's command line (argv[0] is an absolute path) */
  argv: string[];
  /** bash run (outside every test cgroup) just before the case */
  prep?: string;
  /** bash run just after the case: what the attack left (a file's content, /proc/modules) */
  check?: string;
  timeoutMs?: number;
}

/** A command run before the phases (without a daemon): `bpfgate doctor --json`... */
export interface CommandSpec {
  name: string;
  /** bash */
  script: string;
  timeoutMs?: number;
}

export interface CommandResultSpec {
  name: string;
  status: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface PhaseSpec {
  name: string;
  /** arguments after `bpfgate run`; null runs the cases without a daemon */
  daemonArgs: string[] | null;
  /** bash run before the daemon starts */
  setup?: string;
  cases: CaseSpec[];
  /** quiet time after the last case before SIGTERM (default 1500 ms) */
  settleMs?: number;
}

export interface ScenarioSpec {
  commands?: CommandSpec[];
  phases: PhaseSpec[];
}

/** The attacker's JSON line (test/vm/scenarios/bgattack.c). */
export interface AttackReport {
  op: string;
  pid: number;
  ok: boolean;
  errno: number;
  error: string;
  detail: string;
}

export interface CaseResult {
  name: string;
  argv: string[];
  /** pid of the process the runner started (the acting pid unless --pidns) */
  pid: number;
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** the attacker's report, when its last stdout line is one */
  report: AttackReport | null;
  startedAt: number;
  prep?: { status: number | null; output: string };
  /** the check's output (stdout and stderr) */
  check?: { status: number | null; output: string };
}

export interface PhaseResult {
  name: string;
  daemonArgs: string[] | null;
  /** ms from spawning the daemon to "bpfgate is enforcing" */
  daemonStartMs: number;
  cases: CaseResult[];
  /** parsed JSON lines of the daemon's stdout */
  events: Record<string, unknown>[];
  /** stdout lines that were not JSON */
  junk: string[];
  daemonLog: string;
  daemonExit: { code: number | null; signal: string | null } | null;
  error: string | null;
  durationMs: number;
}

const T0 = Date.now();
/** progress on stderr (kept in the run folder's `stderr` when a guest fails) */
const progress = (what: string) =>
  process.stderr.write(`[runner +${((Date.now() - T0) / 1000).toFixed(1)}s] ${what}\n`);

function bash(script: string, timeoutMs = 60_000): { status: number | null; output: string } {
  const r = spawnSync('/bin/bash', ['-c', script], { encoding: 'utf8', timeout: timeoutMs });
  const end = r.signal ? ` [${r.signal}${r.error ? `, ${r.error.message}` : ''}]` : '';
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${end}` };
}

function runCommandSpec(c: CommandSpec): CommandResultSpec {
  progress(`command ${c.name}`);
  const t0 = Date.now();
  const r = spawnSync('/bin/bash', ['-c', c.script], {
    encoding: 'utf8',
    timeout: c.timeoutMs ?? 600_000,
    maxBuffer: 64 << 20,
  });
  return {
    name: c.name,
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? `\n[spawn] ${r.error.message}` : ''),
    durationMs: Date.now() - t0,
  };
}

function lastJsonLine(text: string): AttackReport | null {
  const lines = text.trim().split('\n').reverse();
  for (const l of lines) {
    if (!l.startsWith('{"op"')) continue;
    try {
      return JSON.parse(l) as AttackReport;
    } catch {
      return null;
    }
  }
  return null;
}

function runCase(c: CaseSpec): CaseResult {
  const prep = c.prep ? bash(c.prep) : undefined;
  const startedAt = Date.now();
  const r = spawnSync(c.argv[0]!, c.argv.slice(1), { encoding: 'utf8', timeout: c.timeoutMs ?? 30_000 });
  const stdout = r.stdout ?? '';
  const check = c.check ? bash(c.check) : undefined;
  return {
    name: c.name,
    argv: c.argv,
    pid: r.pid ?? -1,
    status: r.status,
    signal: r.signal,
    stdout,
    stderr: (r.stderr ?? '') + (r.error ? `\n[spawn] ${r.error.message}` : ''),
    report: lastJsonLine(stdout),
    startedAt,
    ...(prep ? { prep } : {}),
    ...(check ? { check } : {}),
  };
}

async function runPhase(p: PhaseSpec, index: number): Promise<PhaseResult> {
  const t0 = Date.now();
  const res: PhaseResult = {
    name: p.name,
    daemonArgs: p.daemonArgs,
    daemonStartMs: -1,
    cases: [],
    events: [],
    junk: [],
    daemonLog: '',
    daemonExit: null,
    error: null,
    durationMs: 0,
  };
  progress(`phase ${p.name}: set-up`);
  if (p.setup) {
    // traced: a failure names the command it stopped at
    const s = bash(`PS4='+ '\nset -x\n${p.setup}`, 180_000);
    progress(`phase ${p.name}: set-up done (${s.status}) after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (s.status !== 0) {
      res.error = `phase set-up failed (${s.status}): ${s.output.slice(-3000)}`;
      return res;
    }
  }
  if (p.daemonArgs === null) {
    for (const c of p.cases) res.cases.push(runCase(c));
    res.durationMs = Date.now() - t0;
    return res;
  }

  // files, not pipes: the cases run synchronously (spawnSync) and the daemon must never block on a full pipe
  const daemon = new DaemonProcess(p.daemonArgs, {
    stdout: { file: `/tmp/bpfgate-phase${index}.events` },
    stderr: { file: `/tmp/bpfgate-phase${index}.log` },
  });
  try {
    await daemon.ready(240_000);
  } catch {
    res.daemonExit = daemon.running ? await daemon.kill() : await daemon.exited;
    res.error = `the daemon did not start (${JSON.stringify(res.daemonExit)})`;
    res.daemonLog = daemon.stderr;
    res.durationMs = Date.now() - t0;
    return res;
  }
  res.daemonStartMs = Date.now() - t0;
  progress(`phase ${p.name}: daemon enforcing after ${res.daemonStartMs} ms`);

  for (const c of p.cases) res.cases.push(runCase(c));

  // let the last records reach stdout: wait until it has been quiet for a while
  const settle = p.settleMs ?? 1500;
  let last = daemon.stdout.length;
  let quietSince = Date.now();
  const settleEnd = Date.now() + settle + 10_000;
  while (Date.now() - quietSince < settle && Date.now() < settleEnd) {
    await sleep(100);
    const size = daemon.stdout.length;
    if (size !== last) {
      last = size;
      quietSince = Date.now();
    }
  }
  progress(`phase ${p.name}: ${res.cases.length} cases run, stopping the daemon`);
  res.daemonExit = await daemon.stop('SIGTERM', 60_000);
  res.daemonLog = daemon.stderr;
  for (const line of daemon.proc.stdoutLines()) {
    if (!line.trim()) continue;
    try {
      res.events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      res.junk.push(line);
    }
  }
  res.durationMs = Date.now() - t0;
  return res;
}

async function main(): Promise<void> {
  const specFile = process.argv[2];
  if (!specFile) throw new Error('usage: runner.ts SPEC.json');
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as ScenarioSpec;
  const outDir = process.env.BPFGATE_VM_OUT ?? '/tmp';
  const commands = (spec.commands ?? []).map(runCommandSpec);
  const phases: PhaseResult[] = [];
  const write = () =>
    writeFileSync(path.join(outDir, 'result.json'), JSON.stringify({ commands, phases }, null, 1));
  write();
  for (const [i, p] of spec.phases.entries()) {
    phases.push(await runPhase(p, i));
    write();
  }
}

await main();
