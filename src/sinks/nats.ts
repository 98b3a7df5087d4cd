// The NATS sink: one long-lived connection; events go through a bounded
// in-memory queue to a single publisher loop (the pump), which publishes them
// in order (JetStream: each with Nats-Msg-Id = event id, acknowledged by the
// stream; core: published, then confirmed with a flush). While NATS is away
// or a publish fails, events go to the on-disk spool (spool.ts), which is
// replayed in order, with the same ids, once publishing works again. Every
// drop is counted and reported by a loss event when one can be delivered.

import { createInbox, headers, type NatsConnection } from '@nats-io/transport-node';
import { buildLossEvent } from '../events/build.ts';
import type { IdSource } from '../events/id.ts';
import type { BpfgateEvent } from '../events/types.ts';
import { LOSS_SOURCES, type LossReport, type LossSource } from '../kernel/record.ts';
import { openConnection, retry, withTimeout } from '../nats/connect.ts';
import { Repeats } from '../repeats.ts';
import { ackProblem } from './ack.ts';
import { formatJson } from './format.ts';
import { DEFAULT_MAX_PAYLOAD, hpubFrame, rawProtocol } from './frame.ts';
import type { SinkOptions } from './options.ts';
import type { Sink } from './sink.ts';
import { Spool, type SpoolStats } from './spool.ts';
import { subjectFor } from './subject.ts';
import { InFlight, WINDOW } from './window.ts';

export interface SinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SinkDeps {
  /** the host name in loss events */
  host: string;
  ids: IdSource;
  log?: SinkLogger;
}

export interface SinkStats {
  connected: boolean;
  /** events accepted by publish() */
  received: number;
  /** events acknowledged (JetStream) or flushed (core) */
  published: number;
  /** publish attempts that failed (each failure sends the batch to the spool) */
  publishFailures: number;
  /** events waiting in memory */
  queued: number;
  /** events dropped because the in-memory queue was full */
  queueDropped: number;
  /** events written to the spool */
  spooled: number;
  /** events published from the spool */
  replayed: number;
  /** events dropped because the spool was full (or absent) */
  spoolDropped: number;
  /** loss events emitted */
  lossEvents: number;
  /** losses counted but not reported yet, per source */
  lossPending: Record<LossReport['source'], number>;
  reconnects: number;
  spool: SpoolStats | null;
  /** connecting or publishing fails now (and has not recovered) */
  failing: boolean;
  /** the last failure (connection or publish), kept after a recovery; null: none yet */
  lastError: { message: string; at: string } | null;
  /** when the oldest event not yet delivered arrived (RFC 3339); null: nothing waits */
  oldestUndelivered: string | null;
}

/** What a JetStream publish answered with 503 (no responders) means, and the fix. */
export function noStreamMessage(subjectPrefix: string): string {
  return `no JetStream stream stores ${subjectPrefix}.> (503 no responders): create it with 'bpfgate nats setup --nats URL'; events wait (spool or memory) until it exists`;
}

const noopLog: SinkLogger = { info() {}, warn() {} };

/** Repeated conditions, each logged with a back-off (src/repeats.ts). */
const CONNECT = 'connect';
const PUBLISH = 'publish';
const STEP = 'step';

export class NatsSink implements Sink {
  readonly #o: Readonly<SinkOptions>;
  readonly #deps: SinkDeps;
  readonly #log: SinkLogger;
  readonly #enc = new TextEncoder();
  #nc: NatsConnection | undefined;
  /** JetStream mode: every message acknowledged by a stream */
  #js = false;
  #connected = false;
  #spool: Spool | undefined;
  #queue: BpfgateEvent[] = [];
  #head = 0;
  #wake: (() => void) | undefined;
  #pump: Promise<void> | undefined;
  #connecting: Promise<void> | undefined;
  #running = false;
  #stopping = false;
  /** after a failed publish: do not try NATS again before this time (ms) */
  #retryAt = 0;
  #loss = Object.fromEntries(LOSS_SOURCES.map((s) => [s, 0])) as Record<LossSource, number>;
  #s = {
    received: 0,
    published: 0,
    publishFailures: 0,
    queueDropped: 0,
    spooled: 0,
    spoolDropped: 0,
    lossEvents: 0,
    reconnects: 0,
  };

  readonly #repeats: Repeats;
  #lastError: { message: string; at: string } | null = null;
  /** since when events wait undelivered (ms); null: nothing waits */
  #backlogSince: number | null = null;

  /** Does nothing but keep its arguments: start() connects. */
  constructor(options: Readonly<SinkOptions>, deps: SinkDeps) {
    this.#o = options;
    this.#deps = deps;
    this.#log = deps.log ?? noopLog;
    this.#repeats = new Repeats(this.#log);
  }

  /** A failure of condition `key`: remembered for status, logged with a back-off. */
  #fail(key: string, message: string, what: string): void {
    this.#lastError = { message, at: new Date().toISOString() };
    const waits = this.#spool
      ? 'events are spooled on disk'
      : `events wait in memory (no spool: beyond ${this.#o.queueMax} they are dropped and counted)`;
    this.#repeats.warn(key, { err: message }, `${what}: ${message}; ${waits}`);
  }

  /** Nothing waits any more: the backlog's age resets. */
  #settle(): void {
    if (
      this.#queue.length - this.#head === 0 &&
      (this.#spool?.pending ?? 0) === 0 &&
      this.#win.pending() === 0
    )
      this.#backlogSince = null;
  }

  /** Open the spool (replaying what a previous run left there) and start connecting; never waits for NATS. */
  async start(): Promise<void> {
    if (this.#running) return;
    if (this.#o.spoolDir !== null) {
      this.#spool = new Spool({
        dir: this.#o.spoolDir,
        maxBytes: this.#o.spoolMaxBytes,
        segmentBytes: this.#o.spoolSegmentBytes,
        fsync: this.#o.fsync,
        fsyncIntervalMs: this.#o.fsyncIntervalMs,
      });
      await this.#spool.open();
      const cut = this.#spool.stats().corrupt;
      if (cut > 0) {
        this.#loss.spool += cut;
        this.#log.warn({ cut, dir: this.#o.spoolDir }, 'records cut from a damaged spool: reported as lost');
      }
      if (this.#spool.pending > 0) {
        this.#log.info(
          { pending: this.#spool.pending },
          'spooled events from a previous run will be replayed',
        );
      }
    }
    this.#running = true;
    this.#stopping = false;
    this.#connecting = this.#connectLoop();
    this.#pump = this.#pumpLoop();
  }

  /** Queue an event for publication. False when the queue was full (the event is counted as lost). */
  publish(event: BpfgateEvent): boolean {
    if (!this.#running || this.#stopping) {
      this.#s.queueDropped += 1;
      this.#loss.queue += 1;
      return false;
    }
    if (this.#queue.length - this.#head >= this.#o.queueMax) {
      this.#s.queueDropped += 1;
      this.#loss.queue += 1;
      this.#signal();
      return false;
    }
    this.#s.received += 1;
    this.#queue.push(event);
    this.#signal();
    return true;
  }

  /** Count a loss found elsewhere (ring buffer, an upstream queue); reported as a loss event. */
  reportLoss(report: LossReport): void {
    if (report.count <= 0) return;
    this.#loss[report.source] += report.count;
    this.#signal();
  }

  stats(): SinkStats {
    const queued = this.#queue.length - this.#head;
    const waiting = queued + (this.#spool?.pending ?? 0) + this.#win.pending() > 0;
    const head = this.#queue[this.#head];
    const since = this.#backlogSince ?? (head ? Date.parse(head.time) : null);
    return {
      connected: this.#connected,
      ...this.#s,
      // the spool's own count: it falls with `pending` in one step (a reader never sees one without the other)
      replayed: this.#spool?.stats().committed ?? 0,
      queued,
      lossPending: { ...this.#loss },
      spool: this.#spool ? this.#spool.stats() : null,
      failing: this.#repeats.active(CONNECT) || this.#repeats.active(PUBLISH),
      lastError: this.#lastError,
      oldestUndelivered:
        waiting && since !== null && !Number.isNaN(since) ? new Date(since).toISOString() : null,
    };
  }

  /** Resolves once every event given so far has been published or spooled (for tests and shutdown). */
  async idle(timeoutMs = 30_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const spoolPending = this.#connected ? (this.#spool?.pending ?? 0) : 0;
      if (this.#queue.length - this.#head === 0 && !this.#busy && spoolPending === 0) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  /** Publish or spool what is queued, close the spool, drain the connection. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#stopping = true;
    this.#signal();
    await this.#pump;
    this.#running = false;
    await this.#connecting;
    await this.#spool?.close();
    const nc = this.#nc;
    this.#nc = undefined;
    this.#connected = false;
    if (nc && !nc.isClosed()) {
      await withTimeout(nc.drain(), this.#o.publishTimeoutMs).catch(() => nc.close());
    }
  }

  #busy = false;
  readonly #win = new InFlight();
  #ackSub: { nc: NatsConnection; prefix: string } | undefined;

  #signal(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  async #connectLoop(): Promise<void> {
    const nc = await retry(
      () =>
        openConnection({
          servers: this.#o.servers,
          auth: this.#o.auth,
          name: this.#o.name,
          maxReconnectAttempts: -1,
          reconnectWaitMs: this.#o.reconnectWaitMs,
          reconnectJitterMs: 100,
          timeoutMs: this.#o.publishTimeoutMs,
        }),
      {
        waitMs: this.#o.reconnectWaitMs,
        stopped: () => this.#stopping,
        onError: (err) =>
          this.#fail(CONNECT, String(err), `NATS unreachable (${this.#o.servers.join(', ')})`),
      },
    );
    if (!nc) return;
    if (this.#stopping) {
      await nc.close();
      return;
    }
    this.#nc = nc;
    this.#js = this.#o.mode === 'jetstream';
    this.#connected = true;
    this.#retryAt = 0;
    if (!this.#repeats.recovered(CONNECT, { server: nc.getServer() }, 'connected to NATS'))
      this.#log.info({ server: nc.getServer() }, 'connected to NATS');
    void this.#watch(nc);
    this.#signal();
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.#connected = false;
        this.#fail(CONNECT, 'connection lost', 'disconnected from NATS');
      } else if (s.type === 'reconnect') {
        this.#connected = true;
        this.#retryAt = 0;
        this.#s.reconnects += 1;
        if (!this.#repeats.recovered(CONNECT, { server: nc.getServer() }, 'reconnected to NATS'))
          this.#log.info({ server: nc.getServer() }, 'reconnected to NATS');
        this.#signal();
      } else if (s.type === 'close') {
        this.#connected = false;
      }
    }
  }

  #take(max: number): BpfgateEvent[] {
    const end = Math.min(this.#queue.length, this.#head + max);
    const out = this.#queue.slice(this.#head, end);
    this.#head = end;
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  #canPublish(): boolean {
    return this.#connected && this.#nc !== undefined && Date.now() >= this.#retryAt;
  }

  async #pumpLoop(): Promise<void> {
    for (;;) {
      this.#busy = true;
      try {
        const progressed = await this.#step();
        if (!progressed) {
          if (this.#stopping && this.#queue.length - this.#head === 0) return;
          this.#busy = false;
          const wait = this.#retryAt > Date.now() ? this.#retryAt - Date.now() : 1000;
          await this.#sleep(this.#stopping ? 10 : wait);
        }
      } catch (err) {
        this.#repeats.warn(STEP, { err: String(err) }, 'sink step failed');
        this.#busy = false;
        await this.#sleep(this.#o.reconnectWaitMs);
      } finally {
        this.#busy = false;
        this.#settle();
      }
    }
  }

  /** One unit of work. False when there was nothing it could do now. */
  async #step(): Promise<boolean> {
    if (!this.#spool && !this.#canPublish()) {
      // no spool: events wait in the bounded queue (publish() counts what does not fit)
      if (this.#stopping) {
        const left = this.#take(Number.MAX_SAFE_INTEGER);
        this.#lost(left.length, left);
      }
      return false;
    }
    const lossEvents = this.#lossEvents();
    const spoolPending = this.#spool?.pending ?? 0;
    // 1. NATS usable and a backlog on disk: replay it first (order), new events join the backlog
    if (spoolPending > 0 && this.#canPublish() && !this.#stopping) {
      await this.#toSpool([...lossEvents, ...this.#take(this.#o.queueMax)]);
      await this.#replay();
      return true;
    }
    // 2. NATS usable, no backlog: publish directly, a sliding window of acknowledgements
    if (spoolPending === 0 && this.#canPublish()) {
      if (lossEvents.length === 0 && this.#queue.length - this.#head === 0) return false;
      await this.#publishWindow(lossEvents);
      return true;
    }
    const batch = [...lossEvents, ...this.#take(this.#o.batch)];
    if (batch.length === 0) return false;
    // 3. NATS away (or a backlog that must be replayed first): spool
    await this.#toSpool(batch);
    return true;
  }

  /**
   * Publish `first`, then the queue, in order, with up to WINDOW JetStream
   * publishes outstanding (a sliding window: each acknowledgement frees a
   * place); returns when nothing is in flight and the queue is empty, or NATS
   * became unusable, or a publish failed. An event counts as published when it
   * and every event before it are acknowledged. On a failure the failed event
   * and everything after it that was sent go to the spool, in order, ahead of
   * the queue; those already acknowledged come back as duplicates, which the
   * stream drops by Nats-Msg-Id.
   */
  async #publishWindow(first: BpfgateEvent[]): Promise<void> {
    if (!this.#js) {
      const batch = [...first, ...this.#take(this.#o.batch)];
      const failedAt = await this.#publishBatch(batch);
      if (failedAt >= 0) await this.#toSpool(batch.slice(failedAt));
      return;
    }
    const r = await this.#sendWindowed(first, () => {
      const room = WINDOW - this.#win.pending();
      const avail = this.#queue.length - this.#head;
      if (room <= 0 || avail === 0) return [];
      return this.#take(Math.min(room, this.#o.batch * 16));
    });
    if (r.failed.length > 0) await this.#toSpool(r.failed);
  }

  /**
   * The JetStream publisher: each message goes out as a plain publish with
   * Nats-Msg-Id and a reply subject `<inbox>.<n>` on which the stream's
   * acknowledgement comes back (one subscription for all), so thousands can be
   * outstanding with no per-message timer or promise. `more()` is asked for
   * further events whenever the window has room. Returns how many were
   * acknowledged (in order) and the events from the first failure on.
   */
  async #sendWindowed(
    first: BpfgateEvent[],
    more: () => BpfgateEvent[],
  ): Promise<{ acked: number; failed: BpfgateEvent[] }> {
    const nc = this.#nc!;
    const w = this.#win;
    w.reset(this.#inbox(nc));
    const timeoutMs = this.#o.publishTimeoutMs;
    const raw = rawProtocol(nc);
    const send = (events: BpfgateEvent[]) => {
      if (events.length === 0) return;
      if (raw === null) {
        // nats.js without the protocol handler this sink knows: its own publish, a message at a time
        for (const e of events) {
          const h = headers();
          h.set('Nats-Msg-Id', e.id);
          nc.publish(subjectFor(e, this.#o.subjectPrefix), this.#payload(e), {
            reply: w.push(e),
            headers: h,
          });
        }
        return;
      }
      // what nats.js's publish checks before it writes
      if (nc.isClosed() || nc.isDraining() || raw.noMorePublishing) throw new Error('connection closed');
      if (raw.info && raw.info.headers === false) throw new Error('the server does not support headers');
      const max = raw.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
      let text = '';
      let n = 0;
      try {
        for (const e of events) {
          text += hpubFrame(
            subjectFor(e, this.#o.subjectPrefix),
            w.push(e),
            e.id,
            formatJson(e, this.#o.format),
            max,
          );
          n++;
        }
      } finally {
        // the frames made before a failure go out: their events are in the window already
        if (n > 0) {
          const bytes = Buffer.from(text, 'utf8');
          raw.outMsgs += n;
          raw.outBytes += bytes.length;
          raw.sendCommand(bytes);
        }
      }
    };
    let acked = 0;
    let failure: string | undefined;
    try {
      send(first);
      for (;;) {
        if (this.#canPublish()) send(more());
        const n = w.advance();
        acked += n;
        this.#s.published += n;
        if (w.pending() === 0) break;
        failure = w.failure(timeoutMs);
        if (failure !== undefined) break;
        await this.#sleep(Math.max(1, w.oldestDeadline(timeoutMs) - Date.now()));
      }
    } catch (err) {
      failure = String(err);
    }
    if (failure === undefined) {
      if (acked > 0) this.#delivered(acked);
      return { acked, failed: [] };
    }
    this.#fail(PUBLISH, failure, 'JetStream publish failed');
    this.#s.publishFailures += 1;
    this.#retryAt = Date.now() + this.#o.reconnectWaitMs;
    return { acked, failed: w.abandon() };
  }

  /** The reply subscription for acknowledgements, made once per connection. */
  #inbox(nc: NatsConnection): string {
    if (this.#ackSub && this.#ackSub.nc === nc) return this.#ackSub.prefix;
    const prefix = `${createInbox()}.`;
    nc.subscribe(`${prefix}*`, {
      callback: (err, msg) => {
        if (err) return;
        const n = Number(msg.subject.slice(prefix.length));
        const h = msg.headers;
        // 503: no stream takes the subject; say how to create one
        const bad =
          h?.hasError && h.code === 503 ? noStreamMessage(this.#o.subjectPrefix) : ackProblem(h, msg.data);
        if (this.#win.settle(n, bad)) this.#signal();
      },
    });
    this.#ackSub = { nc, prefix };
    return prefix;
  }

  /** Loss events for the losses counted so far (reset once emitted). */
  #lossEvents(): BpfgateEvent[] {
    const out: BpfgateEvent[] = [];
    for (const source of LOSS_SOURCES) {
      const count = this.#loss[source];
      if (count === 0) continue;
      // a full spool with NATS away: the loss event would be lost too; wait
      if (source === 'spool' && !this.#canPublish()) continue;
      this.#loss[source] = 0;
      this.#s.lossEvents += 1;
      out.push(buildLossEvent({ source, count }, { host: this.#deps.host, ids: this.#deps.ids }));
    }
    return out;
  }

  /** Events were acknowledged: a failing publish has recovered (said once). */
  #delivered(n: number): void {
    this.#repeats.recovered(
      PUBLISH,
      { delivered: n, spoolPending: this.#spool?.pending ?? 0 },
      'NATS delivery recovered: events are acknowledged again',
    );
  }

  async #toSpool(events: BpfgateEvent[]): Promise<void> {
    if (events.length === 0) return;
    this.#backlogSince ??= Date.now();
    if (!this.#spool && this.#stopping) {
      this.#lost(events.length, events);
      return;
    }
    if (!this.#spool) {
      // no spool: keep the events in memory (at the front) while there is room, drop beyond
      const room = Math.max(0, this.#o.queueMax - (this.#queue.length - this.#head));
      const keep = events.slice(0, room);
      this.#lost(events.length - keep.length, events.slice(room));
      this.#queue.splice(this.#head, 0, ...keep);
      return;
    }
    const stored = await this.#spool.append(events.map((e) => this.#enc.encode(JSON.stringify(e))));
    this.#s.spooled += stored;
    this.#lost(events.length - stored, events.slice(stored));
  }

  #lost(n: number, events: BpfgateEvent[]): void {
    if (n <= 0) return;
    // a dropped loss event is not itself a loss: its count is carried forward to the next one
    for (const e of events) {
      if (e.type === 'loss') {
        this.#loss[e.loss.source] += e.loss.count;
        this.#s.lossEvents -= 1;
      } else {
        this.#s.spoolDropped += 1;
        this.#loss.spool += 1;
      }
    }
  }

  async #replay(): Promise<void> {
    const spool = this.#spool!;
    while (spool.pending > 0 && this.#canPublish()) {
      const { records, next } = await spool.read(this.#js ? WINDOW : this.#o.batch);
      if (records.length === 0) return;
      const events = records.map((r) => JSON.parse(r.toString('utf8')) as BpfgateEvent);
      const failed = this.#js
        ? (await this.#sendWindowed(events, () => [])).failed.length > 0
        : (await this.#publishBatch(events)) >= 0;
      if (failed) return; // keep them spooled; retried after the back-off
      await spool.commit(next, records.length);
      // keep new events flowing to the spool so the memory queue never fills during a long replay
      if (this.#queue.length - this.#head > 0) await this.#toSpool(this.#take(this.#o.queueMax));
    }
  }

  #payload(e: BpfgateEvent): Uint8Array {
    return this.#enc.encode(formatJson(e, this.#o.format));
  }

  /** Core NATS: publish in order, then confirm with a flush. Returns the index of the first failure, or -1. */
  async #publishBatch(events: BpfgateEvent[]): Promise<number> {
    const nc = this.#nc!;
    let failedAt = -1;
    try {
      for (const e of events) nc.publish(subjectFor(e, this.#o.subjectPrefix), this.#payload(e));
      await withTimeout(nc.flush(), this.#o.publishTimeoutMs);
    } catch (err) {
      this.#fail(PUBLISH, String(err), 'publish failed');
      failedAt = 0;
    }
    const ok = failedAt < 0 ? events.length : failedAt;
    this.#s.published += ok;
    if (failedAt < 0 && ok > 0) this.#delivered(ok);
    if (failedAt >= 0) {
      this.#s.publishFailures += 1;
      this.#retryAt = Date.now() + this.#o.reconnectWaitMs;
    }
    return failedAt;
  }
}
