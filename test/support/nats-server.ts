// The direct NATS launcher: one real nats-server from the machine's binary
// (no container engine needed), JetStream on, loopback only, a free port read
// from the ports file, an optional config file (auth, TLS). stop() and
// restart() keep the same port and store; stopAllServers() (call it in
// afterAll) kills whatever is still running, and so does process exit.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './wait.ts';

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export interface ServerOptions {
  /** text of a nats-server config file (authorization, tls, operator...) */
  config?: string;
  /** extra command-line arguments */
  args?: string[];
}

export class NatsServer {
  readonly dir: string;
  readonly storeDir: string;
  port = 0;
  #child: ChildProcess | undefined;
  #opts: ServerOptions;
  #log: string[] = [];

  private constructor(opts: ServerOptions) {
    this.#opts = opts;
    this.dir = mkdtempSync(join(tmpdir(), 'bpfgate-nats-'));
    this.storeDir = join(this.dir, 'store');
  }

  static async start(opts: ServerOptions = {}): Promise<NatsServer> {
    const s = new NatsServer(opts);
    await s.#spawn(-1);
    return s;
  }

  /** nats://127.0.0.1:<port> */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get log(): string {
    return this.#log.join('');
  }

  async #spawn(port: number): Promise<void> {
    const portsDir = join(this.dir, 'ports');
    rmSync(portsDir, { recursive: true, force: true });
    const args = [
      '-js',
      '-sd',
      this.storeDir,
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '--ports_file_dir',
      portsDir,
    ];
    if (this.#opts.config !== undefined) {
      const conf = join(this.dir, 'server.conf');
      writeFileSync(conf, this.#opts.config);
      args.unshift('-c', conf);
    }
    args.push(...(this.#opts.args ?? []));
    await import('node:fs/promises').then((fs) => fs.mkdir(portsDir, { recursive: true }));
    const child = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    child.stdout?.on('data', (d: Buffer) => this.#log.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.#log.push(d.toString()));
    this.#child = child;
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      if (!this.running) throw new Error(`nats-server exited: ${this.log.slice(-2000)}`);
      const file = readdirSync(portsDir).find((n) => n.endsWith('.ports'));
      if (file) {
        try {
          const ports = JSON.parse(readFileSync(join(portsDir, file), 'utf8')) as { nats: string[] };
          const m = /:(\d+)$/.exec(ports.nats[0] ?? '');
          if (m) {
            this.port = Number(m[1]);
            return;
          }
        } catch {
          // written but not complete yet
        }
      }
      await sleep(20);
    }
    throw new Error(`nats-server did not report its port: ${this.log.slice(-2000)}`);
  }

  /** Stop (SIGTERM, then SIGKILL after 5 s); the store and port are kept for restart(). */
  async stop(): Promise<void> {
    const c = this.#child;
    if (!c || !this.running) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }

  /** Start again on the same port, with the same store and config. */
  async restart(): Promise<void> {
    await this.stop();
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        await this.#spawn(this.port);
        return;
      } catch (err) {
        // the port may linger for a moment after the old process exits
        if (Date.now() > until) throw err;
        await sleep(200);
      }
    }
  }

  /** Stop and remove the directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Kill every server a test file started (afterAll). */
export async function stopAllServers(): Promise<void> {
  await Promise.all(
    [...running].map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null || c.signalCode !== null) return r();
          c.once('exit', () => r());
          c.kill('SIGKILL');
        }),
    ),
  );
}
