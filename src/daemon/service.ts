// The daemon as a service: the policy source (files, or the fleet's KV
// bucket), the Daemon, the policy watcher and the metrics endpoint, started in
// that order and stopped in reverse. Signals stay with the command
// (src/cli/commands/run.ts), which calls reload() and stop().
import { Backoff } from '../backoff.ts';
import type { RunConfig } from '../config/resolve.ts';
import { ValidationError } from '../errors.ts';
import type { PolicyProvider } from '../fleet/source.ts';
import type { Logger } from '../log.ts';
import type { Daemon } from './daemon.ts';
import type { MetricsServer } from './http.ts';
import type { DaemonMetrics } from './metrics.ts';

/** The service's parts, wired by the composition root (./compose.ts). */
export interface ServiceParts {
  log: Logger;
  daemon: Daemon;
  metrics: DaemonMetrics;
  /** open the policy source (files, or the fleet's bucket: it may wait for NATS or fall back to its cache) */
  openPolicies: () => Promise<PolicyProvider>;
  /** the metrics endpoint */
  http: () => MetricsServer;
}

export type ReloadReason = 'signal' | 'watch' | 'fleet' | 'api';

export class Service {
  readonly config: RunConfig;
  readonly daemon: Daemon;
  readonly metrics: DaemonMetrics;
  readonly #parts: ServiceParts;
  readonly #log: Logger;
  /** a reload that could not read its source is tried again, backing off (ms; 0: none pending) */
  #retry: NodeJS.Timeout | null = null;
  readonly #retryWait = new Backoff(1000, 30_000);
  #policies: PolicyProvider | null = null;
  #http: MetricsServer | null = null;

  constructor(config: RunConfig, parts: ServiceParts) {
    this.config = config;
    this.#parts = parts;
    this.#log = parts.log;
    this.daemon = parts.daemon;
    this.metrics = parts.metrics;
  }

  /** The address the metrics endpoint listens on, once started (host:port), or null. */
  get metricsAddress(): string | null {
    return this.#http?.address ?? null;
  }

  /** Where the policies come from; set once start() has opened it. */
  get policies(): PolicyProvider | null {
    return this.#policies;
  }

  async start(): Promise<void> {
    const fleet = this.config.fleet;
    this.#policies = await this.#parts.openPolicies();
    try {
      await this.daemon.start();
    } catch (err) {
      await this.#policies.settled({ ok: false, error: err });
      await this.#policies.stop();
      this.#policies = null;
      throw err;
    }
    try {
      if (this.daemon.plan) await this.#policies.settled({ ok: true, plan: this.daemon.plan });
      if (this.config.metrics.listen !== null) {
        this.#http = this.#parts.http();
        await this.#http.start(this.config.metrics.listen, this.config.metrics.statusTokenFile);
      }
      // the bucket is always watched: it is the fleet's only way to change a host's policies
      if (this.config.policyWatch.enabled || fleet) {
        const reason: ReloadReason = fleet ? 'fleet' : 'watch';
        this.#policies.watch(this.config.policyWatch.debounceMs, (what) => void this.reload(reason, what));
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Reload the policies (SIGHUP, a changed file); the old set stays when the new one is invalid. */
  async reload(reason: ReloadReason, files: string[] = []): Promise<boolean> {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    this.#log.info({ reason, files }, 'reloading policies');
    const ok = await this.daemon.reload();
    const plan = this.daemon.plan;
    await this.#policies?.settled(
      ok && plan ? { ok: true, plan } : { ok: false, error: this.daemon.lastReloadError },
    );
    if (ok) {
      this.#retryWait.reset();
      this.#log.info({ reason, policies: this.daemon.plan?.policies.length }, 'policies reloaded');
    } else if (!(this.daemon.lastReloadError instanceof ValidationError) && this.#policies) {
      // the source could not be read (a NATS node lost mid-read, a file being replaced): the
      // change it announced is not dropped; an invalid set is not retried (it stays invalid)
      const wait = this.#retryWait.next();
      this.#log.warn({ reason, retryInMs: wait }, 'the policies could not be read; trying again');
      this.#retry = setTimeout(() => {
        this.#retry = null;
        void this.reload(reason, ['retry']);
      }, wait);
      this.#retry.unref();
    }
    return ok;
  }

  async stop(): Promise<void> {
    // no reload starts once stopping: the watch ends first
    const policies = this.#policies;
    this.#policies = null;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    await policies?.stop();
    await this.#http?.stop();
    this.#http = null;
    await this.daemon.stop();
  }
}
