// The real daemon (`node bin/bpfgate.js run`) as a child process, and the
// processes a test runs inside or outside its cgroup. Enforcement is scoped
// to a cgroup the test creates under /sys/fs/cgroup/unified (KERNEL.md,
// "Safety"); only the test's own children are moved into it, and everything
// is undone in close() whatever happened.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createCgroup, type TestCgroup } from './cgroup.ts';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BPFGATE = `${ROOT}bin/bpfgate.js`;
export const HOST_POLICIES = `${ROOT}test/fixtures/host-policies`;
const BPFFS = '/sys/fs/bpf';

/** One parsed JSON line of the daemon's stdout (an event) or stderr (a log record). */
// biome-ignore lint/suspicious/noExplicitAny: events are checked against the JSON schema, not typed here
export type Json = Record<string, any>;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CommandResult extends Exit {
  stdout: string;
  stderr: string;
}

/** Run `node bin/bpfgate.js ARGS` to completion. */
export function bpfgate(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 30_000,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BPFGATE, ...args],
      { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

function parseLines(text: string): Json[] {
  const out: Json[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Json);
    } catch {
      out.push({ unparsed: line });
    }
  }
  return out;
}

/** A running `bpfgate run`: its events (stdout) and log records (stderr), as they arrive. */
export class DaemonProcess {
  readonly child: ChildProcess;
  readonly events: Json[] = [];
  readonly logs: Json[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  #exit: Exit | null = null;
  #outRest = '';
  #errRest = '';
  #waiters = new Set<() => void>();

  constructor(args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, [BPFGATE, 'run', ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      const text = this.#outRest + d;
      const cut = text.lastIndexOf('\n') + 1;
      this.#outRest = text.slice(cut);
      this.events.push(...parseLines(text.slice(0, cut)));
      this.#wake();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      const text = this.#errRest + d;
      const cut = text.lastIndexOf('\n') + 1;
      this.#errRest = text.slice(cut);
      this.logs.push(...parseLines(text.slice(0, cut)));
      this.#wake();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.#exit = { code, signal };
        this.#wake();
        resolve(this.#exit);
      });
    });
  }

  get running(): boolean {
    return this.#exit === null;
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Resolve with the first value `probe` returns that is not undefined, checked on every output; reject after timeoutMs. */
  until<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = probe();
        if (v !== undefined) {
          finish();
          resolve(v);
        } else if (!this.running) {
          finish();
          reject(
            new Error(`bpfgate run exited (${JSON.stringify(this.#exit)}) before ${what}:\n${this.stderr}`),
          );
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr:\n${this.stderr}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Wait for the start-up log line "bpfgate is enforcing". */
  ready(timeoutMs = 30_000): Promise<Json> {
    return this.until(
      () => this.logs.find((l) => l.msg === 'bpfgate is enforcing'),
      'bpfgate is enforcing',
      timeoutMs,
    );
  }

  /** Events of the acting process `pid` (its thread group). */
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
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<Exit> {
    if (!this.running) return this.#exit!;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

export interface AttemptResult extends Exit {
  pid: number;
  stdout: string;
  stderr: string;
}

/**
 * A test's own cgroup (`/sys/fs/cgroup/unified/bpfgate-test-<random>`), a
 * policies folder scoped to it, and the daemon. Create in beforeAll, close()
 * in afterAll.
 */
export class EnforceHarness {
  readonly name: string;
  readonly cgroup: TestCgroup;
  /** scratch folder: policies/, device nodes, markers */
  readonly dir: string;
  readonly policiesDir: string;
  /** a bpffs folder of this test's own for the daemon's pins: never another daemon's */
  readonly pinRoot: string;
  daemon: DaemonProcess | null = null;
  readonly #children = new Set<ChildProcess>();

  constructor() {
    this.name = `bpfgate-test-${randomBytes(4).toString('hex')}`;
    this.cgroup = createCgroup(this.name);
    this.dir = mkdtempSync(`${tmpdir()}/${this.name}-`);
    this.policiesDir = `${this.dir}/policies`;
    mkdirSync(this.policiesDir);
    this.pinRoot = `${BPFFS}/${this.name}`;
  }

  /** The environment of every bpfgate this harness starts: its own pin root. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, BPFGATE_PIN_ROOT: this.pinRoot };
  }

  /** The cgroup selector of policies scoped to this cgroup and its subtree. */
  get scope(): string {
    return `/${this.name}/**`;
  }

  /**
   * Copy the policy templates of test/fixtures/host-policies/<set>/ into a
   * folder (default: this harness's policies/), replacing ${CGROUP} with the
   * scope selector and ${KEY} with vars[KEY]. An unknown placeholder is an error.
   */
  writePolicies(set: string, vars: Record<string, string | number> = {}, into = this.policiesDir): string {
    mkdirSync(into, { recursive: true });
    const all: Record<string, string> = { CGROUP: this.scope, DIR: this.dir };
    for (const [k, v] of Object.entries(vars)) all[k] = String(v);
    const src = `${HOST_POLICIES}/${set}`;
    for (const f of readdirSync(src).sort()) {
      const text = readFileSync(`${src}/${f}`, 'utf8').replace(/\$\{([A-Z_]+)\}/g, (_, k: string) => {
        if (!(k in all)) throw new Error(`${src}/${f}: no value for \${${k}}`);
        return all[k]!;
      });
      writeFileSync(`${into}/${f}`, text);
    }
    return into;
  }

  /** Start `bpfgate run --policies <policies> --cgroup <this cgroup> ...extra` and wait until it enforces. */
  async startDaemon(extra: string[] = [], policies = this.policiesDir): Promise<DaemonProcess> {
    const d = new DaemonProcess(['--policies', policies, '--cgroup', this.cgroup.path, ...extra], this.env);
    this.daemon = d;
    await d.ready();
    // a test daemon starts from nothing: adopting pins would mean another daemon's enforcement
    const adopted = d.logs.find((l) => l.msg === 'adopting the enforcement a previous daemon left pinned');
    if (adopted) throw new Error(`the test daemon adopted pins it did not make: ${JSON.stringify(adopted)}`);
    return d;
  }

  /** Run argv, inside this cgroup (the child moves itself in, then execs) or outside it. */
  attempt(argv: string[], where: 'inside' | 'outside', timeoutMs = 10_000): Promise<AttemptResult> {
    const [cmd, args] =
      where === 'inside'
        ? ['sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', this.cgroup.path, ...argv]]
        : [argv[0]!, argv.slice(1)];
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.#children.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.#children.delete(child);
        resolve({ pid: child.pid!, code, signal, stdout: stdout.trim(), stderr: stderr.trim() });
      });
    });
  }

  /** Program ids attached to this cgroup (bpftool cgroup show), empty when none. */
  attachedToCgroup(): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      execFile('bpftool', ['-j', 'cgroup', 'show', this.cgroup.path], (err, stdout) => {
        if (err) return reject(err);
        const text = String(stdout).trim();
        resolve(text ? (JSON.parse(text) as unknown[]) : []);
      });
    });
  }

  /** Links pinned under this harness's pin root (what would outlive the daemon), empty when none. */
  pinnedLinks(): string[] {
    try {
      return readdirSync(`${this.pinRoot}/links`).sort();
    } catch {
      return [];
    }
  }

  /** Stop the daemon, end our children, remove the cgroup and the scratch folder. */
  async close(): Promise<void> {
    try {
      if (this.daemon?.running) await this.daemon.stop('SIGTERM');
    } finally {
      for (const c of this.#children) c.kill('SIGKILL');
      // only our children were ever moved in; end any that are left
      let left: string[] = [];
      try {
        left = readFileSync(`${this.cgroup.path}/cgroup.procs`, 'utf8').split('\n').filter(Boolean);
      } catch {
        // the cgroup is already gone
      }
      for (const pid of left) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already exited
        }
      }
      // pins of this test's own daemon only (unpinning a link detaches it)
      rmSync(this.pinRoot, { recursive: true, force: true });
      await this.cgroup.remove();
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
