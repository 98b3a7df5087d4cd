// The one daemon-in-a-child launcher: the real `bpfgate run` (bin/bpfgate.js)
// with the test's flags in a child process, used by the host and NATS tests,
// the guest scenarios (inside the guest) and the bench. It waits until the
// daemon logs its start-up record (ready: true), reads its stdout events and stderr log
// records as JSON as they arrive, finds its metrics endpoint, stops it with a
// signal (SIGKILL after a deadline) or kills it. Shell scripts that run in the
// guest start the same command through daemonShell().
import { Child, type CommandResult, type Exit, runCommand, type Sink } from './child.ts';
import { BPFGATE, PROJECT_ROOT } from './paths.ts';
import { shellQuote } from './shell.ts';

export type { CommandResult, Exit } from './child.ts';

/** One parsed JSON line of the daemon's stdout (an event) or stderr (a log record). */
// biome-ignore lint/suspicious/noExplicitAny: events are checked against the JSON schema, not typed here
export type Json = Record<string, any>;

/**
 * The start-up log record (field `ready: true`) after which every program is
 * attached and every map written. Its message says what the daemon does:
 * "bpfgate is enforcing", or audit mode, or no policies (daemon.ts readyMessage).
 */
export const READY = '"ready":true';
/** The log message that names the metrics endpoint's address (field `listen`). */
const METRICS_LOG = 'metrics endpoint: /metrics /healthz /status';

/** Run `node bin/bpfgate.js ARGS` to completion. */
export function bpfgate(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 30_000,
): Promise<CommandResult> {
  return runCommand([process.execPath, BPFGATE, ...args], { cwd: PROJECT_ROOT, env, timeoutMs });
}

/**
 * The flags of a daemon scoped to a test's own cgroup (KERNEL.md, Safety): its
 * policies, the cgroup programs attached to that cgroup, nothing pinned (never
 * adopt or remove what another daemon on the host pinned), no policy watch.
 */
export function scopedArgs(policies: string, cgroup: string): string[] {
  return ['--policies', policies, '--cgroup', cgroup, '--pin-root', 'off', '--no-policy-watch'];
}

export interface DaemonOptions {
  env?: NodeJS.ProcessEnv;
  /** options for node itself, before the script (e.g. --cpu-prof) */
  nodeArgs?: readonly string[];
  /** a command that execs the daemon (e.g. nsenter --net=/run/netns/x, to run it in a test's network namespace) */
  prefix?: readonly string[];
  /** where stdout (events) and stderr (logs) go: pipes by default, or files (see Child) */
  stdout?: Sink;
  stderr?: Sink;
}

function parseLines(lines: readonly string[], from: number, into: Json[]): void {
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    try {
      into.push(JSON.parse(line) as Json);
    } catch {
      into.push({ unparsed: line });
    }
  }
}

/** A running `bpfgate run ARGS`: its events (stdout) and log records (stderr), as they arrive. */
export class DaemonProcess {
  readonly proc: Child;
  readonly args: readonly string[];
  readonly #events: Json[] = [];
  readonly #logs: Json[] = [];
  #outSeen = 0;
  #errSeen = 0;

  constructor(args: readonly string[], opts: DaemonOptions = {}) {
    this.args = args;
    this.proc = new Child(
      [...(opts.prefix ?? []), process.execPath, ...(opts.nodeArgs ?? []), BPFGATE, 'run', ...args],
      {
        cwd: PROJECT_ROOT,
        env: opts.env ?? process.env,
        stdout: opts.stdout ?? 'pipe',
        stderr: opts.stderr ?? 'pipe',
      },
    );
  }

  /** Start `bpfgate run ARGS` and wait until it enforces (rejects, with its stderr, when it exits first). */
  static async start(args: readonly string[], opts: DaemonOptions & { timeoutMs?: number } = {}) {
    const d = new DaemonProcess(args, opts);
    try {
      await d.ready(opts.timeoutMs);
    } catch (err) {
      await d.kill();
      throw err;
    }
    return d;
  }

  get pid(): number {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.running;
  }

  get exited(): Promise<Exit> {
    return this.proc.exited;
  }

  get stdout(): string {
    return this.proc.stdout();
  }

  get stderr(): string {
    return this.proc.stderr();
  }

  /** Every JSON line of stdout so far (violations and other events). */
  get events(): Json[] {
    const lines = this.proc.stdoutLines();
    parseLines(lines, this.#outSeen, this.#events);
    this.#outSeen = lines.length;
    return this.#events;
  }

  /** Every JSON log record of stderr so far. */
  get logs(): Json[] {
    const lines = this.proc.stderrLines();
    parseLines(lines, this.#errSeen, this.#logs);
    this.#errSeen = lines.length;
    return this.#logs;
  }

  /** Resolve with the first value `probe` returns that is not undefined (see Child.until). */
  until<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    return this.proc.until(probe, what, timeoutMs);
  }

  /** The first log record with this message, once it is written. */
  log(msg: string, timeoutMs = 10_000): Promise<Json> {
    return this.until(() => this.logs.find((l) => l.msg === msg), `the log "${msg}"`, timeoutMs);
  }

  /** Wait for the start-up log record (ready: true). */
  ready(timeoutMs = 30_000): Promise<Json> {
    return this.until(
      () => this.logs.find((l) => l.ready === true),
      'the start-up record (ready: true)',
      timeoutMs,
    );
  }

  /** The metrics endpoint's base URL (http://host:port), once the daemon logged it (start with --metrics). */
  async metricsUrl(timeoutMs = 10_000): Promise<string> {
    const rec = await this.log(METRICS_LOG, timeoutMs);
    return `http://${rec.listen as string}`;
  }

  /** Violations of the acting process `pid` (its thread group). */
  eventsOf(pid: number): Json[] {
    return this.events.filter((e) => e.type === 'violation' && e.process?.tgid === pid);
  }

  /**
   * The one violation of process `pid`: waits for it, then `settleMs` more,
   * and throws if there is not exactly one.
   */
  async oneEventOf(pid: number, settleMs = 300, timeoutMs = 5_000): Promise<Json> {
    await this.until(() => this.eventsOf(pid)[0], `an event of pid ${pid}`, timeoutMs);
    await new Promise((r) => setTimeout(r, settleMs));
    const all = this.eventsOf(pid);
    if (all.length !== 1)
      throw new Error(`pid ${pid}: ${all.length} events, expected exactly one:\n${JSON.stringify(all)}`);
    return all[0]!;
  }

  /** Send `signal` and wait for the exit (SIGKILL after timeoutMs). */
  stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<Exit> {
    return this.proc.stop(signal, timeoutMs);
  }

  /** SIGKILL and wait for the exit: nothing orderly happens (pins, when kept, stay). */
  kill(): Promise<Exit> {
    return this.proc.kill();
  }
}

/**
 * The same launcher for a bash script in the guest (the real CLI, the same
 * ready message), as shell functions:
 *   bpfgate_start OUT LOG ARGS...  `bpfgate run ARGS` in the background, events (stdout) to OUT
 *                                  (/dev/null: dropped), logs (stderr) to LOG; $! is its pid
 *   wait_log LOG TEXT PID       wait (up to 5 min) until LOG contains TEXT; fails, printing LOG, when PID exits first
 *   wait_enforcing LOG PID      wait_log for the start-up record ("ready":true)
 */
export function daemonShell(): string {
  return `
bpfgate_start() { local out=$1 log=$2; shift 2; node ${shellQuote(BPFGATE)} run "$@" >"$out" 2>"$log" & }
wait_log() { for i in $(seq 1 600); do grep -q "$2" "$1" 2>/dev/null && return 0; kill -0 "$3" 2>/dev/null || break; sleep 0.5; done; echo "no '$2' in $1" >&2; cat "$1" >&2; return 1; }
wait_enforcing() { wait_log "$1" '${READY}' "$2"; }
`;
}
