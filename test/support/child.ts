// A child process of a test (or a benchmark), and a command run to
// completion. A Child keeps what the process writes on stdout and stderr, as
// text and as complete lines, read from pipes as it arrives or from files
// (a parent that blocks its event loop, like the guest runner's synchronous
// cases, must not leave the child blocked on a full pipe); until() waits for
// a condition on that output; stop() signals and waits, killing after a
// deadline. Every child still running when the process exits is killed.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CommandResult extends Exit {
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** SIGKILL after this long (default 30 s; 0: never) */
  timeoutMs?: number;
}

/** Run argv to completion; a non-zero exit or a signal is a result, never a rejection. */
export function runCommand(argv: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      {
        ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 << 20,
      },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
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

/** Where a child's stdout or stderr goes: kept from a pipe, written to a file (and read from it), or dropped. */
export type Sink = 'pipe' | 'ignore' | { file: string };

export interface ChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdout?: Sink;
  stderr?: Sink;
}

/** One output stream's text, from a pipe or read on demand from a file. */
class Output {
  #text = '';
  #fd: number | null = null;
  #cut = 0;
  readonly #lines: string[] = [];
  readonly sink: Sink;

  constructor(sink: Sink) {
    this.sink = sink;
  }

  /** The file descriptor to hand to spawn for a file sink (opened for writing, truncated). */
  openForChild(): number | 'pipe' | 'ignore' {
    if (typeof this.sink === 'string') return this.sink;
    const w = openSync(this.sink.file, 'w');
    this.#fd = openSync(this.sink.file, 'r');
    return w;
  }

  append(chunk: string): void {
    this.#text += chunk;
  }

  /** Everything written so far. */
  text(): string {
    if (this.#fd !== null) {
      const buf = Buffer.alloc(1 << 16);
      for (;;) {
        const n = readSync(this.#fd, buf, 0, buf.length, null);
        if (n <= 0) break;
        this.#text += buf.toString('utf8', 0, n);
      }
    }
    return this.#text;
  }

  /** The complete lines written so far (a line still being written is left out). */
  lines(): readonly string[] {
    const text = this.text();
    const end = text.lastIndexOf('\n') + 1;
    if (end > this.#cut) {
      this.#lines.push(...text.slice(this.#cut, end - 1).split('\n'));
      this.#cut = end;
    }
    return this.#lines;
  }

  close(): void {
    if (this.#fd !== null) {
      this.text();
      closeSync(this.#fd);
      this.#fd = null;
    }
  }
}

const live = new Set<ChildProcess>();
let exitHook = false;

export class Child {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  readonly #out: Output;
  readonly #err: Output;
  #exit: Exit | null = null;
  readonly #waiters = new Set<() => void>();
  #poll: NodeJS.Timeout | null = null;

  constructor(argv: readonly string[], opts: ChildOptions = {}) {
    this.#out = new Output(opts.stdout ?? 'pipe');
    this.#err = new Output(opts.stderr ?? 'pipe');
    const stdio = ['ignore', this.#out.openForChild(), this.#err.openForChild()] as const;
    this.child = spawn(argv[0]!, argv.slice(1), {
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      env: opts.env ?? process.env,
      stdio: [...stdio],
    });
    for (const fd of stdio) if (typeof fd === 'number') closeSync(fd);
    live.add(this.child);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const c of live) c.kill('SIGKILL');
      });
    }
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.#out.append(d);
      this.#wake();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.#err.append(d);
      this.#wake();
    });
    this.exited = new Promise((resolve) => {
      const done = (exit: Exit) => {
        if (this.#exit) return;
        this.#exit = exit;
        live.delete(this.child);
        this.#out.close();
        this.#err.close();
        this.#wake();
        resolve(exit);
      };
      this.child.on('close', (code, signal) => done({ code, signal }));
      this.child.on('error', () => done({ code: null, signal: null }));
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.#exit === null;
  }

  /** The exit, once it happened. */
  get exit(): Exit | null {
    return this.#exit;
  }

  stdout(): string {
    return this.#out.text();
  }

  stderr(): string {
    return this.#err.text();
  }

  stdoutLines(): readonly string[] {
    return this.#out.lines();
  }

  stderrLines(): readonly string[] {
    return this.#err.lines();
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /**
   * Resolve with the first value `probe` returns that is not undefined, checked
   * on every output and every 50 ms; reject when the child exits first or after
   * timeoutMs, with the end of its stderr.
   */
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
            new Error(
              `${this.#name()} exited (${JSON.stringify(this.#exit)}) before ${what}:\n${this.#tail()}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr:\n${this.#tail()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (this.#waiters.size === 0 && this.#poll) {
          clearInterval(this.#poll);
          this.#poll = null;
        }
      };
      this.#waiters.add(check);
      // file sinks produce no events: poll them (and pipes too, which costs nothing)
      this.#poll ??= setInterval(() => this.#wake(), 50);
      check();
    });
  }

  #name(): string {
    return this.child.spawnargs.slice(0, 3).join(' ');
  }

  #tail(): string {
    return this.stderr().slice(-4000);
  }

  /** Send a signal (nothing when it already exited). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Send `signal` and wait for the exit; SIGKILL after timeoutMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<Exit> {
    if (!this.running) return this.#exit!;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** SIGKILL and wait for the exit. */
  kill(): Promise<Exit> {
    return this.stop('SIGKILL');
  }
}
