// Events for local viewers: a Unix socket (owner-only, in /run/bpfgate by
// default) that hands every event to each connected client as one native
// JSON line, from the moment it connects. `bpfgate tail` without --nats reads
// it, so a person can watch a daemon that publishes nowhere. A client that
// does not keep up loses lines (counted), never slows the daemon.
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { BpfgateEvent } from '../events/types.ts';
import type { Sink } from './sink.ts';

export const DEFAULT_EVENTS_SOCKET = '/run/bpfgate/events.sock';

/** Bytes a client may have waiting before its lines are dropped. */
const CLIENT_BACKLOG = 4 << 20;

export interface LocalSinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Is something answering on the socket at `path`? */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export class LocalSink implements Sink {
  readonly #path: string;
  readonly #log: LocalSinkLogger;
  #server: Server | null = null;
  readonly #clients = new Set<Socket>();
  /** lines not written because a client lagged */
  dropped = 0;

  /** Keeps its arguments: start() listens. */
  constructor(path: string, log: LocalSinkLogger) {
    this.#path = path;
    this.#log = log;
  }

  /** Where it listens, once started; null when it does not (another daemon serves the path). */
  get path(): string | null {
    return this.#server ? this.#path : null;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /**
   * Listen. A socket left by a daemon that is gone is replaced; a live one
   * (another daemon) or anything that is not a socket is left alone, and this
   * daemon serves no local viewers (a warning, not a failure; so is a folder
   * that cannot be made).
   */
  async start(): Promise<void> {
    try {
      await this.#listen();
    } catch (err) {
      // a convenience for local viewers: never a reason for the daemon not to start
      this.#log.warn(
        { socket: this.#path, err: String(err) },
        `no local event socket at ${this.#path}: ${String(err)}`,
      );
    }
  }

  async #listen(): Promise<void> {
    mkdirSync(dirname(this.#path), { recursive: true, mode: 0o700 });
    let existing: ReturnType<typeof lstatSync> | undefined;
    try {
      existing = lstatSync(this.#path);
    } catch {}
    if (existing) {
      if (!existing.isSocket() || (await answers(this.#path))) {
        this.#log.warn(
          { socket: this.#path },
          `${this.#path} is in use: no local event socket (bpfgate tail reads the daemon that has it)`,
        );
        return;
      }
      unlinkSync(this.#path);
    }
    const server = createServer((c) => {
      this.#clients.add(c);
      c.on('error', () => c.destroy());
      c.on('close', () => this.#clients.delete(c));
      c.resume(); // clients only listen; anything they send is read and dropped
    });
    const umask = process.umask(0o177); // the socket file: owner only, from its creation
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.#path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(umask);
    }
    this.#server = server;
    this.#log.info(
      { socket: this.#path },
      `local event socket ${this.#path}: bpfgate tail shows events as they happen`,
    );
  }

  publish(event: BpfgateEvent): void {
    if (this.#clients.size === 0) return;
    const line = `${JSON.stringify(event)}\n`;
    for (const c of this.#clients) {
      if (c.writableLength > CLIENT_BACKLOG) this.dropped += 1;
      else c.write(line);
    }
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (!s) return;
    for (const c of this.#clients) c.end();
    await new Promise<void>((r) => s.close(() => r()));
    for (const c of this.#clients) c.destroy();
    try {
      unlinkSync(this.#path);
    } catch {}
  }
}
