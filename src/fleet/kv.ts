// The fleet's policy source: a NATS KV bucket (docs/fleet.md). load() reads
// every `policies.*` entry and keeps those whose host selector matches this
// host; a watch on `policies.>` asks for a reload (debounced) whenever an entry
// changes; after every apply the host writes its status to `hosts.<host>` and,
// when the apply worked, caches the entries on disk. When NATS is unreachable
// at start the cached set is enforced (never nothing: without a cache the
// daemon refuses to start) while a background loop keeps trying; once the
// bucket is reachable, a reload brings the bucket's set in.
import { jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm, type KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/nats-core';
import type { NatsConnection } from '@nats-io/transport-node';
import { Backoff } from '../backoff.ts';
import { BpfgateError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { openConnection, retry, withTimeout } from '../nats/connect.ts';
import type { PolicyResult } from '../policy/index.ts';
import { type CachedSet, cacheFile, readCache, writeCache } from './cache.ts';
import { type KeySequence, type Sequences, sequencesFromJson, sequencesToJson } from './freshness.ts';
import type { FleetOptions } from './options.ts';
import {
  type AppliedEntry,
  type FleetEntry,
  type FleetSelection,
  hostStatusKey,
  POLICY_KEY_PREFIX,
  selectPolicies,
} from './select.ts';
import { verifyBucket } from './signature.ts';
import type { ApplyOutcome, PolicyProvider } from './source.ts';
import { errorLines, type HostStatus, ruleStatus } from './status.ts';

/** NATS and the bucket were unreachable at start and no cached set exists: the daemon does not start. */
export class FleetUnavailableError extends BpfgateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLEET_UNAVAILABLE', message, options);
  }
}

export interface FleetDeps {
  host: string;
  mode: 'enforce' | 'audit';
  log: Logger;
}

/** How long one read of the bucket may take before the reload gives up (the running set stays). */
const READ_TIMEOUT_MS = 10_000;

interface Loaded {
  entries: FleetEntry[];
  selection: FleetSelection;
  source: 'kv' | 'cache';
  /** the sequences to keep once this read is applied */
  sequences?: Map<string, KeySequence>;
}

export class FleetPolicies implements PolicyProvider {
  readonly kind = 'fleet';
  readonly #o: FleetOptions;
  readonly #deps: FleetDeps;
  readonly #log: Logger;
  #nc: NatsConnection | null = null;
  #kv: KV | null = null;
  /** the status bucket, opened on the first status write */
  #statusKv: KV | null = null;
  #cached: CachedSet | null = null;
  /** per key, the sequence of the signed entry applied last (from the cache at start) */
  #sequences: Sequences = new Map();
  #stopped = false;
  #background: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  /** every policies.* key of the last load, with its revision: watch entries equal to these change nothing */
  #known = new Map<string, number>();
  #pending: Loaded | null = null;
  #applied: Loaded | null = null;
  #status: HostStatus | null = null;
  #statusDirty = false;
  /** a status write that failed (a stream electing its leader, a node down) is tried again: 1 s doubling to 30 s */
  #statusRetry: NodeJS.Timeout | null = null;
  readonly #statusWait = new Backoff(1000, 30_000);
  #onChange: ((what: string[]) => void) | null = null;
  #debounceMs = 0;
  #timer: NodeJS.Timeout | null = null;
  #changes = new Set<string>();
  #watch: QueuedIterator<KvWatchEntry> | null = null;

  private constructor(o: FleetOptions, deps: FleetDeps) {
    this.#o = o;
    this.#deps = deps;
    this.#log = deps.log.child({ component: 'fleet', bucket: o.bucket });
  }

  /**
   * Reach the bucket within connectTimeoutMs, or fall back to the cached set.
   * Throws FleetUnavailableError when neither is there.
   */
  static async open(o: FleetOptions, deps: FleetDeps): Promise<FleetPolicies> {
    const f = new FleetPolicies(o, deps);
    await f.#open();
    return f;
  }

  /** Where the set enforced now came from; null before the first apply. */
  get source(): 'kv' | 'cache' | null {
    return this.#applied?.source ?? null;
  }

  /** The bucket is reachable (a watch runs). */
  get connected(): boolean {
    return this.#kv !== null && this.#nc !== null && !this.#nc.isClosed();
  }

  /** The entries of the last successful apply. */
  get applied(): AppliedEntry[] {
    return this.#applied?.selection.selected ?? [];
  }

  /** The sequences applied before this start, from the cache (none without one). */
  async #readSequences(): Promise<void> {
    if (this.#o.cacheDir === null) return;
    try {
      const cached = await readCache(this.#o.cacheDir, this.#o.bucket);
      this.#sequences = sequencesFromJson(cached?.sequences ?? {}) ?? new Map();
    } catch (err) {
      this.#log.warn(
        { err },
        'cannot read the fleet cache: older entries are refused only from this start on',
      );
    }
  }

  async #open(): Promise<void> {
    const until = Date.now() + this.#o.connectTimeoutMs;
    let reason: unknown;
    await this.#readSequences();
    for (;;) {
      try {
        await this.#attach(Math.max(200, until - Date.now()));
        return;
      } catch (err) {
        reason = err;
      }
      if (Date.now() + this.#o.reconnectWaitMs >= until) break;
      await this.#sleep(this.#o.reconnectWaitMs);
    }
    const where = `bucket '${this.#o.bucket}' at ${this.#o.servers.join(', ')}`;
    const why = reason instanceof Error ? reason.message : String(reason);
    let cached: CachedSet | null = null;
    if (this.#o.cacheDir !== null) {
      try {
        cached = await readCache(this.#o.cacheDir, this.#o.bucket);
      } catch (err) {
        throw new FleetUnavailableError(
          `cannot reach the fleet policy ${where} (${why}), and the cached set cannot be read: ${(err as Error).message}; refusing to start without policies`,
          { cause: err },
        );
      }
    }
    if (!cached) {
      const cache =
        this.#o.cacheDir === null
          ? 'no cache is configured'
          : `no cached set at ${cacheFile(this.#o.cacheDir, this.#o.bucket)}`;
      throw new FleetUnavailableError(
        `cannot reach the fleet policy ${where} (${why}), and ${cache}: refusing to start without policies`,
        { cause: reason },
      );
    }
    this.#cached = cached;
    this.#log.warn(
      {
        reason: why,
        savedAt: cached.savedAt,
        entries: cached.entries.map((e) => `${e.key}@rev${e.revision}`),
      },
      `NATS unreachable: enforcing the cached fleet policy set of ${cached.savedAt} until the bucket is reachable`,
    );
    this.#background = this.#retry();
  }

  /** Connect and open the bucket; on success the connection reconnects by itself from then on. */
  async #attach(timeoutMs: number): Promise<void> {
    const nc = await openConnection({
      servers: this.#o.servers,
      auth: this.#o.auth,
      name: this.#o.name,
      timeoutMs: Math.min(timeoutMs, 5000),
      maxReconnectAttempts: -1,
      reconnectWaitMs: this.#o.reconnectWaitMs,
    });
    try {
      const kv = await new Kvm(nc).open(this.#o.bucket);
      await withTimeout(kv.status(), timeoutMs, `opening bucket ${this.#o.bucket}`);
      if (this.#stopped) throw new Error('stopped');
      this.#nc = nc;
      this.#kv = kv;
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
    void this.#monitor(nc);
    this.#log.info({ servers: this.#o.servers }, 'fleet policy bucket reachable');
  }

  /** Started from the cache: keep trying; once there, watch and reload from the bucket. */
  async #retry(): Promise<void> {
    const attached = await retry(() => this.#attach(this.#o.connectTimeoutMs).then(() => true), {
      waitMs: this.#o.reconnectWaitMs,
      stopped: () => this.#stopped,
      onError: (err) => this.#log.debug({ err }, 'fleet policy bucket still unreachable'),
      sleep: (ms) => this.#sleep(ms),
    });
    if (!attached) return;
    if (this.#onChange) await this.#startWatch();
    this.#touch('connected');
    await this.#flushStatus();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        this.#wake = null;
        resolve();
      };
    });
  }

  /** After a reconnect: read the bucket again (changes may have been missed) and publish a status not yet written. */
  async #monitor(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect')
        this.#log.warn({ server: s.server }, 'fleet connection lost; reconnecting');
      if (s.type === 'reconnect') {
        this.#log.info({ server: s.server }, 'fleet connection back');
        this.#touch('reconnected');
        void this.#flushStatus();
      }
    }
  }

  async #readBucket(kv: KV): Promise<FleetEntry[]> {
    const read = async (): Promise<FleetEntry[]> => {
      // The keys come from the stream's own subject list (one request its leader
      // answers), not from kv.keys(): that creates a consumer, which needs the
      // cluster's meta leader, and right after a node's loss no meta leader may
      // answer for a while although the bucket's stream is readable.
      const nc = this.#nc;
      if (!nc) throw new Error('not connected');
      // checkAPI off: no account-info request, which a cluster's meta leader answers
      const jsm = await jetstreamManager(nc, { checkAPI: false });
      const prefix = `$KV.${this.#o.bucket}.`;
      const info = await jsm.streams.info(`KV_${this.#o.bucket}`, {
        subjects_filter: `${prefix}${POLICY_KEY_PREFIX}>`,
      });
      const keys = Object.keys(info.state.subjects ?? {})
        .filter((s) => s.startsWith(prefix))
        .map((s) => s.slice(prefix.length));
      const entries: FleetEntry[] = [];
      for (const key of keys.sort()) {
        const e = await kv.get(key);
        if (e?.operation !== 'PUT') continue;
        entries.push({ key, revision: e.revision, text: e.string() });
      }
      return entries;
    };
    return withTimeout(read(), READ_TIMEOUT_MS, `reading bucket ${this.#o.bucket}`);
  }

  async load(): Promise<PolicyResult> {
    let loaded: Omit<Loaded, 'selection'>;
    if (this.#kv) loaded = { entries: await this.#readBucket(this.#kv), source: 'kv' };
    else if (this.#cached) loaded = { entries: this.#cached.entries, source: 'cache' };
    else throw new FleetUnavailableError(`the fleet policy bucket '${this.#o.bucket}' is not reachable`);
    // signatures first: nothing unsigned reaches the YAML parser
    const verified = verifyBucket(this.#o.bucket, loaded.entries, this.#o.trustedKeys, this.#sequences);
    loaded.sequences = verified.sequences;
    const selection = selectPolicies(this.#o.bucket, verified.entries, this.#o.labels);
    if (verified.diagnostics.length > 0)
      selection.result = {
        set: null,
        // 'no policy applies to this host' is not news when entries were refused
        diagnostics: [
          ...verified.diagnostics,
          ...selection.result.diagnostics.filter((d) => d.code !== 'NO_POLICIES'),
        ],
      };
    this.#known = new Map(loaded.entries.map((e) => [e.key, e.revision]));
    this.#pending = { ...loaded, selection };
    this.#log.info(
      {
        source: loaded.source,
        selected: selection.selected.map((e) => `${e.key}@rev${e.revision}`),
        skipped: selection.skipped,
      },
      'fleet policy set read',
    );
    return selection.result;
  }

  watch(debounceMs: number, onChange: (what: string[]) => void): void {
    this.#debounceMs = debounceMs;
    this.#onChange = onChange;
    if (!this.#kv) return; // started from the cache: watching begins once the bucket is reachable
    void this.#startWatch();
    // reached while the cached set was being applied: bring the bucket's set in
    if (this.#pending?.source === 'cache') this.#touch('connected');
  }

  async #startWatch(): Promise<void> {
    const kv = this.#kv;
    if (!kv || this.#watch || this.#stopped) return;
    let iter: QueuedIterator<KvWatchEntry>;
    try {
      iter = await kv.watch({ key: `${POLICY_KEY_PREFIX}>` });
    } catch (err) {
      this.#log.warn({ err }, 'cannot watch the fleet policy bucket; retrying');
      setTimeout(() => void this.#startWatch(), this.#o.reconnectWaitMs).unref();
      return;
    }
    this.#watch = iter;
    void (async () => {
      try {
        for await (const e of iter) {
          const known = this.#known.get(e.key);
          if (e.operation === 'PUT' ? known === e.revision : known === undefined) continue;
          this.#touch(`${e.key}@rev${e.revision}`);
        }
      } catch (err) {
        this.#log.warn({ err }, 'fleet policy watch ended');
      }
      this.#watch = null;
      if (!this.#stopped) {
        setTimeout(() => void this.#startWatch(), this.#o.reconnectWaitMs).unref();
        this.#touch('watch restarted');
      }
    })();
  }

  #touch(what: string): void {
    if (!this.#onChange || this.#stopped) return;
    this.#changes.add(what);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const changes = [...this.#changes];
      this.#changes.clear();
      this.#log.debug({ changes }, 'fleet policies changed');
      this.#onChange?.(changes);
    }, this.#debounceMs);
  }

  async settled(outcome: ApplyOutcome): Promise<void> {
    // taken before any await: a later load() may replace #pending meanwhile
    const read = this.#pending;
    const now = new Date().toISOString();
    if (outcome.ok && read) {
      this.#applied = read;
      if (read.sequences) this.#sequences = read.sequences;
      if (read.source === 'kv' && this.#o.cacheDir !== null) {
        try {
          await writeCache(this.#o.cacheDir, {
            version: 1,
            bucket: this.#o.bucket,
            host: this.#deps.host,
            labels: { ...this.#o.labels },
            savedAt: now,
            entries: read.entries,
            sequences: sequencesToJson(this.#sequences),
          });
        } catch (err) {
          this.#log.warn({ err, dir: this.#o.cacheDir }, 'cannot cache the applied fleet policy set');
        }
      }
    }
    const applied = this.#applied;
    const previous = this.#status;
    const rules = outcome.ok
      ? ruleStatus(outcome.plan)
      : previous
        ? { enforcement: previous.enforcement, rules: previous.rules }
        : { enforcement: {}, rules: [] };
    this.#status = {
      version: 1,
      host: this.#deps.host,
      labels: { ...this.#o.labels },
      bucket: this.#o.bucket,
      source: applied?.source ?? (this.#kv ? 'kv' : 'cache'),
      mode: this.#deps.mode,
      applied: applied?.selection.selected ?? [],
      ...rules,
      lastReload: {
        ok: outcome.ok,
        time: now,
        read: read?.selection.selected ?? [],
        errors: outcome.ok ? [] : errorLines(outcome.error),
      },
      updated: now,
    };
    this.#statusDirty = true;
    await this.#flushStatus();
  }

  /** The last status, as this host wrote it (or will once NATS is reachable). */
  get status(): HostStatus | null {
    return this.#status;
  }

  async #flushStatus(): Promise<void> {
    const nc = this.#nc;
    const status = this.#status;
    if (!this.#o.publishStatus || !this.#kv || !nc || !status || !this.#statusDirty) return;
    try {
      // a bucket of its own: hosts that read the policies do not read what other hosts fail to enforce
      if (!this.#statusKv) {
        const kv = await new Kvm(nc).open(this.#o.statusBucket);
        await withTimeout(kv.status(), READ_TIMEOUT_MS, `opening the status bucket ${this.#o.statusBucket}`);
        this.#statusKv = kv;
      }
      const kv = this.#statusKv;
      await withTimeout(
        kv.put(hostStatusKey(this.#deps.host), JSON.stringify(status)),
        READ_TIMEOUT_MS,
        'writing the host status',
      );
      if (this.#status === status) this.#statusDirty = false;
      this.#statusWait.reset();
    } catch (err) {
      this.#log.warn(
        { err, retryInMs: this.#statusWait.upcomingMs },
        'cannot write the host status; tried again with a back-off, and after the next reconnect or apply',
      );
      if (this.#stopped || this.#statusRetry) return;
      const wait = this.#statusWait.next();
      this.#statusRetry = setTimeout(() => {
        this.#statusRetry = null;
        if (!this.#stopped) void this.#flushStatus();
      }, wait);
      this.#statusRetry.unref();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#statusRetry) clearTimeout(this.#statusRetry);
    this.#statusRetry = null;
    this.#timer = null;
    this.#wake?.();
    this.#watch?.stop();
    this.#watch = null;
    await this.#background;
    this.#background = null;
    const nc = this.#nc;
    this.#nc = null;
    this.#kv = null;
    this.#statusKv = null;
    if (nc) await nc.close().catch(() => {});
  }
}
