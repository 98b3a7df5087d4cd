// One run of the kernel suite on one kernel: everything in one guest boot (or
// one process tree on this host), run by test/support/guest-runner.ts:
//   commands  doctor --json: the probe, timed
//   phases    the rule-kind attacks enforcing, the same with --audit, and the
//             attacks against the starter policies
// then, on this host, from the features the probe found (pure computations:
// no need to pay for them under emulation): doctor's text, compile --explain
// of doctor's policies and compile --json of the starter policies.
// On the host every policy is scoped below a cgroup this run creates, the
// cgroup programs attach there, pins go to a folder of its own, and all of it
// is removed afterwards (KERNEL.md, "Safety").
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { matrixPolicies } from '../../../src/doctor/matrix.ts';
import { runCommand } from '../child.ts';
import { bpfgate } from '../daemon.ts';
import { GUEST_CGROUP2_ROOT, GUEST_IN, type GuestResult, prepareGuest, runInGuest } from '../guest.ts';
import type { CommandResultSpec, CommandSpec, PhaseResult, ScenarioSpec } from '../guest-runner.ts';
import { buildAttacker } from '../guest-scenario.ts';
import { type KernelConfig, type KernelId, kernelConfig } from '../kernels.ts';
import { BPFGATE, FIXTURES, PROJECT_ROOT } from '../paths.ts';
import { shellQuote } from '../shell.ts';
import { ATTACK_CONTROLS, ATTACKS, adaptPolicy, adaptStarterPolicy, attackSetup } from './attacks.ts';
import { type CaseContext, E2E_CASES, e2eSetup, type SuiteCase } from './cases.ts';

const HOST_CGROUP2_ROOT = '/sys/fs/cgroup/unified';

export interface SuiteRun {
  kernel: KernelConfig;
  ctx: CaseContext;
  /** uname -r where it ran */
  release: string;
  commands: Record<string, CommandResultSpec>;
  enforce: PhaseResult;
  audit: PhaseResult;
  starter: PhaseResult;
  durationMs: number;
  /** the guest's boot, 0 on the host */
  bootMs: number;
}

/** The cases of a kernel, as the runner takes them; a case in a mount namespace of its own is wrapped in unshare. */
function caseSpecs(cases: readonly SuiteCase[], c: CaseContext, audit: boolean) {
  return cases
    .filter((x) => !(audit && x.control) && (x.kernels?.includes(c.kernel) ?? true))
    .map((x) => {
      const argv = x.argv(c);
      return {
        name: x.name,
        argv: x.mountns
          ? [
              '/usr/bin/unshare',
              '-m',
              '--propagation',
              'private',
              '/bin/sh',
              '-c',
              `${x.mountns} && exec "$0" "$@"`,
              ...argv,
            ]
          : argv,
        ...(x.prep ? { prep: x.prep } : {}),
        ...(x.check ? { check: x.check } : {}),
      };
    });
}

/** The policy files of the run: the suite's own (e2e/) and the adapted starter set (starter/). */
function policyFiles(prefix: string): Record<string, string> {
  const files: Record<string, string> = {};
  const e2e = path.join(FIXTURES, 'guest-policies', 'e2e');
  for (const f of readdirSync(e2e)
    .filter((x) => x.endsWith('.yaml'))
    .sort())
    files[`e2e/${f}`] = adaptPolicy(readFileSync(path.join(e2e, f), 'utf8'), {
      prefix,
      unscoped: prefix ? `${prefix}/**` : null,
    });
  const starter = path.join(PROJECT_ROOT, 'policies');
  for (const f of readdirSync(starter)
    .filter((x) => x.endsWith('.yaml'))
    .sort())
    files[`starter/${f}`] = adaptStarterPolicy(readFileSync(path.join(starter, f), 'utf8'), prefix);
  for (const s of matrixPolicies().sources) files[`doctor/${s.file}`] = s.text;
  return files;
}

/** The commands where the kernel is: its release, and one probe (doctor --json). */
const COMMANDS: CommandSpec[] = [
  { name: 'release', script: 'uname -r' },
  { name: 'doctor', script: `node ${shellQuote(BPFGATE)} doctor --json` },
];

/**
 * What reads the probed features, run here (the same code: only the probe
 * needs the kernel): doctor's text, compile --explain of doctor's own
 * policies, compile --json of the (adapted) starter policies.
 */
async function readers(doctorJson: string, prefix: string): Promise<Record<string, CommandResultSpec>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfgate-kt-readers-'));
  try {
    const features = path.join(dir, 'features.json');
    writeFileSync(features, JSON.stringify((JSON.parse(doctorJson) as { features: unknown }).features));
    for (const [rel, text] of Object.entries(policyFiles(prefix))) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), text);
    }
    const doctorPolicies = matrixPolicies().sources.map((s) => path.join(dir, 'doctor', s.file));
    const runs: [string, string[]][] = [
      ['doctor-text', ['doctor', '--features', features]],
      ['explain', ['compile', '--explain', '--features', features, ...doctorPolicies]],
      ['plan', ['compile', path.join(dir, 'starter'), '--json', '--features', features]],
    ];
    const done = await Promise.all(
      runs.map(async ([name, args]) => {
        const t0 = Date.now();
        const r = await bpfgate(args, process.env, 120_000);
        return { name, status: r.code, stdout: r.stdout, stderr: r.stderr, durationMs: Date.now() - t0 };
      }),
    );
    return Object.fromEntries(done.map((x) => [x.name, x]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function spec(c: CaseContext, dir: string, daemon: string[]): ScenarioSpec {
  return {
    commands: COMMANDS,
    phases: [
      {
        name: 'enforce',
        daemonArgs: ['--policies', `${dir}/e2e`, ...daemon],
        setup: e2eSetup(c),
        cases: caseSpecs(E2E_CASES, c, false),
      },
      {
        name: 'audit',
        daemonArgs: ['--policies', `${dir}/e2e`, '--audit', ...daemon],
        setup: e2eSetup(c),
        cases: caseSpecs(E2E_CASES, c, true),
      },
      {
        name: 'starter',
        daemonArgs: ['--policies', `${dir}/starter`, ...daemon],
        setup: attackSetup(c),
        cases: caseSpecs([...ATTACKS, ...ATTACK_CONTROLS], c, false),
      },
    ],
  };
}

interface RawRun {
  commands: CommandResultSpec[];
  phases: PhaseResult[];
}

function parseRun(text: string | undefined, where: string): RawRun {
  if (!text) throw new Error(`the suite wrote no result (${where})`);
  const r = JSON.parse(text) as RawRun;
  if (r.phases.length !== 3)
    throw new Error(`the suite stopped after ${r.phases.length} of 3 phases (${where})`);
  for (const p of r.phases)
    if (p.error) throw new Error(`phase ${p.name}: ${p.error}\n${p.daemonLog.slice(-4000)}`);
  return r;
}

async function inGuest(k: KernelConfig, c: CaseContext): Promise<{ raw: RawRun; guest: GuestResult }> {
  // BPFGATE_KERNEL_SUITE_REPLAY=<a finished guest run's out folder>: check that run again without booting
  // (a run whose checks could not finish, e.g. a hook timeout); never set in CI
  const replay = process.env.BPFGATE_KERNEL_SUITE_REPLAY;
  if (replay) {
    const text = readFileSync(path.join(replay, 'result.json'), 'utf8');
    const guest = {
      exitCode: 0,
      stdout: '',
      stderr: '',
      console: '',
      outFiles: { 'result.json': text },
      bootMs: 0,
      durationMs: 0,
    };
    return { raw: parseRun(text, `replayed ${replay}`), guest: guest as unknown as GuestResult };
  }
  const guest = await runInGuest(`node test/support/guest-runner.ts ${GUEST_IN}/spec.json`, {
    files: { ...policyFiles(''), 'spec.json': JSON.stringify(spec(c, GUEST_IN, [])) },
    timeoutMs: 1_200_000,
    ...(k.lsm ? { lsm: k.lsm } : {}),
  });
  return {
    raw: parseRun(
      guest.outFiles['result.json'],
      `guest exit ${guest.exitCode}:\n${guest.stderr.slice(-4000)}`,
    ),
    guest,
  };
}

/** On this host: a cgroup, a pin folder and a scratch folder of the run's own, all removed at the end. */
async function onHost(c: CaseContext, name: string): Promise<RawRun> {
  const scratch = mkdtempSync(path.join(tmpdir(), `${name}-`));
  const pins = `/sys/fs/bpf/${name}`;
  try {
    for (const [rel, text] of Object.entries(policyFiles(`/${name}`))) {
      const f = path.join(scratch, rel);
      mkdirSync(path.dirname(f), { recursive: true });
      writeFileSync(f, text);
    }
    writeFileSync(path.join(scratch, 'spec.json'), JSON.stringify(spec(c, scratch, ['--cgroup', c.cg])));
    const out = path.join(scratch, 'out');
    mkdirSync(out);
    const r = await runCommand(
      [process.execPath, 'test/support/guest-runner.ts', path.join(scratch, 'spec.json')],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, BPFGATE_VM_OUT: out, BPFGATE_PIN_ROOT: pins },
        timeoutMs: 900_000,
      },
    );
    let text: string | undefined;
    try {
      text = readFileSync(path.join(out, 'result.json'), 'utf8');
    } catch {
      text = undefined;
    }
    return parseRun(text, `runner exit ${r.code}:\n${r.stderr.slice(-4000)}`);
  } finally {
    await runCommand(['/bin/bash', '-c', hostCleanup(c.cg, pins)], { timeoutMs: 60_000 });
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Everything a host run leaves: its processes (cgroup.kill), cgroups (deepest first), pins, files, victims. */
function hostCleanup(cg: string, pins: string): string {
  return `for f in /tmp/e2e/victim.pid /tmp/attack/victim.pid; do [ -s $f ] && kill -9 "$(cat $f)" 2>/dev/null; done
[ -d ${cg} ] && echo 1 > ${cg}/cgroup.kill 2>/dev/null; sleep 0.2
[ -d ${cg} ] && find ${cg} -depth -type d -exec rmdir {} + 2>/dev/null
rm -rf ${pins} /tmp/e2e /tmp/attack /tmp/.x /tmp/protected /tmp/hostfs
true`;
}

/** Run the whole suite on one kernel. */
export async function runKernelSuite(id: KernelId): Promise<SuiteRun> {
  const kernel = kernelConfig(id);
  const [attacker, assets] = await Promise.all([buildAttacker(), prepareGuest()]);
  const modules = path.join(assets.kernelDir, 'lib', 'modules', assets.kernelVersion);
  const name = `bpfgate-kt-${randomBytes(4).toString('hex')}`;
  const cg = kernel.where === 'host' ? `${HOST_CGROUP2_ROOT}/${name}` : GUEST_CGROUP2_ROOT;
  const ctx: CaseContext = { kernel: id, attacker, cg, modules };
  const t0 = Date.now();
  let raw: RawRun;
  let bootMs = 0;
  if (kernel.where === 'guest') {
    const g = await inGuest(kernel, ctx);
    raw = g.raw;
    bootMs = g.guest.bootMs;
  } else {
    mkdirSync(cg);
    raw = await onHost(ctx, name);
  }
  const commands: Record<string, CommandResultSpec> = Object.fromEntries(
    raw.commands.map((x) => [x.name, x]),
  );
  if (commands.doctor?.status === 0)
    Object.assign(commands, await readers(commands.doctor.stdout, kernel.where === 'host' ? `/${name}` : ''));
  const [enforce, audit, starter] = raw.phases as [PhaseResult, PhaseResult, PhaseResult];
  return {
    kernel,
    ctx,
    release: commands.release?.stdout.trim() ?? '',
    commands,
    enforce,
    audit,
    starter,
    durationMs: Date.now() - t0,
    bootMs,
  };
}
