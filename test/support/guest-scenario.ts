// Host side of the guest end-to-end suites (e2e, attacks, matrix): builds the
// attacker program, boots one guest per scenario, runs
// test/support/guest-runner.ts in it and hands back its result, plus lookups of
// the events a case produced. See docs/attacks.md and docs/testing-kernel.md.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compileC } from './build.ts';
import { daemonShell } from './daemon.ts';
import {
  CACHE_DIR,
  GUEST_CGROUP2_ROOT,
  GUEST_IN,
  type GuestResult,
  guestNodeCommand,
  PROJECT_ROOT,
  runInGuest,
} from './guest.ts';
import type { CaseResult, PhaseResult, ScenarioSpec } from './guest-runner.ts';
import { CACHE } from './paths.ts';

export type { CaseResult, CaseSpec, PhaseResult, PhaseSpec, ScenarioSpec } from './guest-runner.ts';

const SCENARIOS = path.join(PROJECT_ROOT, 'test', 'vm', 'scenarios');
/** The guest's cgroup v2 root, where the scenarios create their test cgroups. */
export const CG = GUEST_CGROUP2_ROOT;

/**
 * Build test/vm/scenarios/bgattack.c into this checkout's build folder (the
 * guest reads it there through the shared root; never the shared VM cache,
 * which other checkouts with another bgattack.c also use); rebuilt when the
 * source is newer.
 */
export async function buildAttacker(): Promise<string> {
  return compileC(path.join(SCENARIOS, 'bgattack.c'), path.join(CACHE, 'build', 'bgattack'));
}

/** Policy files of a folder, as runInGuest `files` under `prefix/`. */
export function policyFiles(dir: string, prefix: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith('.yaml') || f.endsWith('.yml'))
      files[`${prefix}/${f}`] = readFileSync(path.join(dir, f), 'utf8');
  }
  return files;
}

export interface ScenarioRun {
  phases: PhaseResult[];
  guest: GuestResult;
}

/**
 * Boot one guest and run the scenario's phases in it. The guest's result is
 * also kept as .cache/vm/results/<name>.json for inspection.
 */
export async function runScenario(
  name: string,
  spec: ScenarioSpec,
  files: Record<string, string>,
  timeoutMs = 600_000,
  /** the guest kernel's lsm= (LSM_WITHOUT_BPF: BPF-LSM built but not active); the default keeps bpf */
  lsm?: readonly string[],
): Promise<ScenarioRun> {
  const guest = await runInGuest(
    guestNodeCommand('test/support/guest-runner.ts', [`${GUEST_IN}/spec.json`]),
    {
      files: { ...files, 'spec.json': JSON.stringify(spec) },
      timeoutMs,
      ...(lsm ? { lsm } : {}),
    },
  );
  const text = guest.outFiles['result.json'];
  if (!text) {
    throw new Error(
      `the scenario wrote no result (exit ${guest.exitCode})\nstdout:\n${guest.stdout}\nstderr:\n${guest.stderr.slice(-4000)}`,
    );
  }
  await mkdir(path.join(CACHE_DIR, 'results'), { recursive: true });
  await writeFile(path.join(CACHE_DIR, 'results', `${name}.json`), text);
  const { phases } = JSON.parse(text) as { phases: PhaseResult[] };
  if (phases.length !== spec.phases.length) {
    throw new Error(
      `the scenario stopped after ${phases.length} of ${spec.phases.length} phases\nstderr:\n${guest.stderr.slice(-4000)}`,
    );
  }
  return { phases, guest };
}

/** A violation event as printed on the daemon's stdout (the fields the suites look at). */
export interface Violation {
  type: string;
  policy: { name: string; rule: string };
  action: string;
  outcome: string;
  mode: string;
  kind: string;
  mechanism: string;
  process: { pid: number; tgid: number; comm: string; uid: number; executable?: string };
  target: Record<string, unknown>;
  ret: number;
}

/** The phase's case by name (throws when missing: a typo must not pass silently). */
export function caseOf(phase: PhaseResult, name: string): CaseResult {
  const c = phase.cases.find((x) => x.name === name);
  if (!c) throw new Error(`phase ${phase.name} has no case ${name}`);
  return c;
}

/** The acting pid of a case: the attacker's own report (it knows its host pid under --pidns), else the spawned pid. */
export function actingPid(c: CaseResult): number {
  return c.report?.pid ?? c.pid;
}

/** Violations whose process is the case's acting process. */
export function eventsOf(phase: PhaseResult, c: CaseResult): Violation[] {
  const pid = actingPid(c);
  return (phase.events as unknown as Violation[]).filter(
    (e) => e.type === 'violation' && (e.process?.tgid === pid || e.process?.pid === pid),
  );
}

/** A short description of a case for assertion messages. */
export function describeCase(phase: PhaseResult, c: CaseResult): string {
  const ev = eventsOf(phase, c).map(
    (e) =>
      `${e.policy.name}/${e.policy.rule} ${e.kind} ${e.outcome} ${e.mechanism} ${JSON.stringify(e.target)}`,
  );
  return `${phase.name}/${c.name}: status=${c.status} signal=${c.signal} stdout=${c.stdout.trim()} stderr=${c.stderr.trim()} events=[${ev.join('; ')}]`;
}

/** The cgroup (under the guest's cgroup v2 root) of the pins and protect scenarios. */
export const EXEC_BLOCK_CGROUP = '/bgpins';

/** A policy named `name` that blocks exec of /usr/bin/true in the cgroup /bgpins. */
export function execBlockPolicy(name: string): string {
  return `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: ${name}
  description: no /usr/bin/true in the scenario's cgroup
  severity: high
spec:
  scope:
    cgroups: [${EXEC_BLOCK_CGROUP}]
  rules:
    - id: no-true
      kind: exec
      action: block
      message: exec of /usr/bin/true
      match:
        paths: [/usr/bin/true]
`;
}

/**
 * Shell for the pins and protect scenarios: the cgroup (made), the default pin
 * root, `intry` (the exit code of /usr/bin/true run inside the cgroup: non-zero
 * means denied), `link_id PIN` (the id of a pinned link), and the daemon
 * launcher's functions (test/support/daemon.ts daemonShell()).
 */
export function execBlockShell(): string {
  const cg = `${GUEST_CGROUP2_ROOT}${EXEC_BLOCK_CGROUP}`;
  return `
CG=${cg}
mkdir -p $CG
PINS=/sys/fs/bpf/bpfgate
intry() { sh -c 'echo $$ > ${cg}/cgroup.procs; exec /usr/bin/true' 2>/dev/null; echo $?; }
link_id() { bpftool link show pinned "$1" -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
${daemonShell()}`;
}

/** The `key=value` lines a guest script printed, as an object (other lines are left out). */
export function keyValues(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^([a-z_0-9]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Where the exec-block scenario's policy is in the guest. */
export const EXEC_BLOCK_POLICY_FILE = `${GUEST_IN}/policy.yaml`;

/**
 * Boot one guest for an exec-block scenario (pins, protect): `script` runs with
 * execBlockPolicy(policyName) at EXEC_BLOCK_POLICY_FILE; returns the
 * `key=value` lines it printed, and its stdout and stderr for assertion
 * messages. A non-zero exit of the script is an error with both outputs and
 * the console.
 */
export async function runExecBlockScenario(
  script: string,
  policyName: string,
  /** the guest kernel's lsm= (LSM_WITHOUT_BPF: BPF-LSM built but not active); the default keeps bpf */
  lsm?: readonly string[],
  /** the whole guest run, boot included (default 10 min; the kernel project's hooks allow 15) */
  timeoutMs = 600_000,
): Promise<{ values: Record<string, string>; raw: string }> {
  const res = await runInGuest(script, {
    files: { 'policy.yaml': execBlockPolicy(policyName) },
    timeoutMs,
    ...(lsm ? { lsm } : {}),
  });
  const raw = `${res.stdout}\n--- stderr\n${res.stderr}`;
  if (res.exitCode !== 0) throw new Error(`guest exit ${res.exitCode}\n${raw}\n${res.console}`);
  return { values: keyValues(res.stdout), raw };
}
