// What the adversarial runners (test/host/adversarial.test.ts, on this
// machine, and test/vm/adversarial.test.ts, in the guest) share: the case
// table (test/adversarial/cases.ts), each case's policy, the attacker's
// command line (a network namespace of its own with the services it
// targets, then the case's cgroup, then the attack program), and what a
// case must end in on a kernel, in enforce and in audit mode.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type AdversarialCase, CASES, type Expectation, type Kernel } from '../adversarial/cases.ts';

export { type AdversarialCase, CASES, type Expectation, type Kernel } from '../adversarial/cases.ts';

/** The rule id of every case's policy. */
export const RULE = 'r';
/** The rule an event names: the case's, or an allowlist's default. */
export const ruleOf = (c: AdversarialCase): string => (c.allowlist ? 'default' : RULE);
/** The case's policy name. */
export const policyName = (c: AdversarialCase): string => `adv-${c.id}`;

/** The cases whose class a kernel covers, and those it does not (the attempt succeeds there). */
export function casesFor(
  kernel: Kernel,
  daemon: 'shared' | 'killed-before-attack' = 'shared',
): AdversarialCase[] {
  // BPFGATE_ADV_ONLY=id,id...: a developer's run of some cases (scripts/test.sh clears it: the suite runs them all)
  const only = process.env.BPFGATE_ADV_ONLY?.split(',').filter(Boolean);
  return CASES.filter(
    (c) =>
      (c.daemon ?? 'shared') === daemon &&
      expectationOn(c, kernel) !== undefined &&
      (!only || only.includes(c.id)),
  );
}

/** `rel` (relative to a case's cgroup) as a path: '' is the case's cgroup itself. */
function under(root: string, rel: string | undefined): string {
  return rel ? `${root}/${rel.replace(/^\/+/, '')}` : root;
}

/**
 * The case's policy, scoped to its cgroup: `root` is the case's cgroup as a
 * selector from the cgroup2 root (/bpfgate-test-x/net-udp-sendto).
 */
export function casePolicy(c: AdversarialCase, root: string): string {
  const inner = (flow: string) => flow.trim().replace(/^\{\s*|\s*\}$/g, '');
  const selectors = (c.cgroups ?? ['/**']).map((s) => JSON.stringify(`${root}${s}`));
  const scope = [`cgroups: [${selectors.join(', ')}]`, ...(c.scope ? [inner(c.scope)] : [])].join(', ');
  return `apiVersion: bpfgate.dev/v1
kind: Policy
metadata:
  name: ${policyName(c)}
  description: ${JSON.stringify(c.title)}
  severity: high
spec:${c.allowlist ? '\n  defaultAction: block' : ''}
  scope: { ${scope} }
  rules:
    - { id: ${RULE}, message: ${JSON.stringify(`adversarial case ${c.id}`)}, ${inner(withDigests(c.rule))} }
`;
}

/** `@SHA256:<path>` in a rule: the file's SHA-256, read now. */
function withDigests(rule: string): string {
  return rule.replace(/@SHA256:([^\s,\]]+)/g, (_, file: string) =>
    createHash('sha256').update(readFileSync(file)).digest('hex'),
  );
}

/** The services the attacks target, inside each attacker's own network namespace. */
const LISTENER = `
import ctypes, select, socket, sys
ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG: end with the attacker
socks = []
for port in (80, 6379):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(16)
    socks.append(s)
open(sys.argv[1], "w").close()
while True:
    ready, _, _ = select.select(socks, [], [], 60)
    if not ready:
        break
    for s in ready:
        s.accept()[0].close()
`;

/**
 * A network namespace of the attacker's own: loopback up, the metadata
 * service's addresses on it, a listener on ports 80 and 6379 (dual stack,
 * started before the shell joins the case's cgroup, so no rule applies to
 * it) when $2 is its program. Then the shell joins the cgroup ($1) and
 * becomes the attacker.
 */
const NETNS_SCRIPT = `set -e
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
ip -6 addr add fd00:ec2::254/128 dev lo nodad
if [ -n "$2" ]; then
  ready=$(mktemp -u /tmp/adv-ready.XXXXXX)
  /usr/bin/python3 -c "$2" "$ready" </dev/null >/dev/null 2>&1 &
  for i in $(seq 1 200); do [ -e "$ready" ] && break; sleep 0.05; done
  rm -f "$ready"
fi
echo $$ > "$1/cgroup.procs"
shift 2
exec "$@"`;

/**
 * Does the attack reach a service (connect, sendto, sendmsg, TCP fast open)?
 * Only those start the listener: a Python start costs seconds in the guest
 * under TCG, for every case that runs it.
 */
function needsListener(c: AdversarialCase): boolean {
  return c.attack.some((a) => ['connect', 'sendto', 'sendmsg', 'tfo'].includes(a));
}

/**
 * The attacker's command line for a case: `caseDir` is the case's cgroup
 * directory, `attack` the attack program, `daemonPidFile` what @DAEMON_PID
 * stands for.
 */
export function attackerArgv(
  c: AdversarialCase,
  attack: string,
  caseDir: string,
  daemonPidFile = '/dev/null',
): string[] {
  const args = c.attack.map((a) =>
    a === '@DAEMON_PID' ? `@${daemonPidFile}` : a.replace(/^@ATTACKS\//, `${dirname(attack)}/`),
  );
  return [
    'unshare',
    '--net',
    '/bin/sh',
    '-c',
    NETNS_SCRIPT,
    'sh',
    under(caseDir, c.in),
    needsListener(c) ? LISTENER : '',
    attack,
    ...args,
  ];
}

/** The directories to create for a case before its daemon starts: its cgroup and `before`. */
export function cgroupsBefore(c: AdversarialCase, caseDir: string): string[] {
  return [caseDir, ...(c.before ?? []).map((b) => under(caseDir, b))];
}

/** How an attempt ended, and the events of its acting process, in a form two runs can compare. */
export interface Observed {
  ends: string;
  events: { policy: string; rule: string; kind: string; outcome: string; mechanism: string; mode: string }[];
}

/** The acting pid: the attacker's "pid N" line (it acted from a child), else the process started. */
export function actingPid(stdout: string, started: number): number {
  const m = /^pid (\d+)$/m.exec(stdout);
  return m ? Number(m[1]) : started;
}

/**
 * How the attack ended: its result line ("ok", "errno 1 EPERM"), or the signal
 * that ended it. The output may end in a newline (the guest's runner keeps it).
 */
export function endOf(stdout: string, code: number | null, signal: string | null): string {
  if (signal) return signal === 'SIGKILL' ? 'killed' : signal;
  const line = stdout
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('pid '))
    .pop();
  if (code === 137 && !line) return 'killed'; // a shell's report of SIGKILL
  return line ?? `exit ${code}`;
}

/** What a case must end in on `kernel` in `mode` (null: the kernel does not cover it: nothing happens). */
export function expected(c: AdversarialCase, kernel: Kernel, mode: 'enforce' | 'audit'): Observed {
  const e: Expectation = expectationOn(c, kernel);
  if (e.ends === 'uncovered') return { ends: 'ok', events: [] };
  const kill = e.ends === 'killed-after' || e.ends === 'killed';
  const after = e.ends === 'killed-after' ? '-after' : '';
  const outcome =
    mode === 'audit' ? (kill ? `would-kill${after}` : 'would-block') : kill ? `killed${after}` : 'denied';
  return {
    ends: mode === 'audit' ? 'ok' : kill ? 'killed' : 'errno 1 EPERM',
    events: [{ policy: policyName(c), rule: ruleOf(c), kind: c.kind, outcome, mechanism: e.mechanism, mode }],
  };
}

/** The comparable form of violation events. */
export function summarize(events: Record<string, unknown>[]): Observed['events'] {
  return events.map((e) => {
    const x = e as {
      policy: { name: string; rule: string };
      kind: string;
      outcome: string;
      mechanism: string;
      mode: string;
    };
    return {
      policy: x.policy?.name,
      rule: x.policy?.rule,
      kind: x.kind,
      outcome: x.outcome,
      mechanism: x.mechanism,
      mode: x.mode,
    };
  });
}

/** What a case achieves on `kernel`: on 'fmod', its BPF-LSM expectation with the fmod_ret twin, unless it says otherwise. */
export function expectationOn(c: AdversarialCase, kernel: Kernel): Expectation {
  if (kernel !== 'fmod') return c.kernels[kernel];
  if (c.kernels.fmod) return c.kernels.fmod;
  const e = c.kernels.lsm;
  return e.ends === 'EPERM' && e.mechanism === 'lsm' ? { ends: 'EPERM', mechanism: 'fmod_ret' } : e;
}

/** A kernel's cell of the walk-around table (docs/attacks.md): "EPERM (cgroup)", "killed-after (tracepoint)", "not covered: why". */
export function readmeCell(e: Expectation): string {
  return e.ends === 'uncovered' ? `not covered: ${e.why}` : `${e.ends} (${e.mechanism})`;
}

/** The case's row of the walk-around table (docs/attacks.md). */
export function readmeRow(c: AdversarialCase): string {
  return `| \`${c.id}\` | ${c.item} | ${c.title} | ${readmeCell(c.kernels.lsm)} | ${readmeCell(expectationOn(c, 'fmod'))} | ${readmeCell(c.kernels.host)} |`;
}

/** An attempt as a runner saw it: the attacker's output and end, the pid it started, and every event the daemon printed. */
export interface Attempt {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: string | null;
  pid: number;
}

/**
 * What a case's attempt came to on `kernel` in `mode`, against what it must
 * come to: `observed` and `expected` are equal when the case holds; `events`
 * are the acting process's violations, `why` a description for assertions.
 */
export function judge(
  c: AdversarialCase,
  kernel: Kernel,
  mode: 'enforce' | 'audit',
  a: Attempt,
  allEvents: readonly Record<string, unknown>[],
): { observed: Observed; expected: Observed; events: Record<string, unknown>[]; why: string } {
  const pid = actingPid(a.stdout, a.pid);
  const events = allEvents.filter(
    (e) => e.type === 'violation' && (e as { process?: { tgid?: number } }).process?.tgid === pid,
  );
  return {
    observed: { ends: endOf(a.stdout, a.code, a.signal), events: summarize(events) },
    expected: expected(c, kernel, mode),
    events,
    why: `${c.id}: stdout=${a.stdout} stderr=${a.stderr} events=${JSON.stringify(events)}`,
  };
}
