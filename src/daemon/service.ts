// The daemon as a service: the policy source (files, or the fleet's KV
// bucket), the Daemon, the policy watcher and the metrics endpoint, started in
// that order and stopped in reverse. Signals stay with the command
// (src/cli/commands/run.ts), which calls reload() and stop().
import type { FeatureSet } from '../abi/features.ts';
import { FleetPolicies } from '../fleet/kv.ts';
import { FilePolicies, type PolicyProvider } from '../fleet/source.ts';
import type { Logger } from '../log.ts';
import type { RunConfig } from './config.ts';
import { Daemon } from './daemon.ts';
import { MetricsServer } from './http.ts';
import { DaemonMetrics } from './metrics.ts';
import type { Enricher, EventOutput } from './pipeline.ts';

export interface ServiceDeps {
  log: Logger;
  probe: () => Promise<FeatureSet>;
  enricher?: Enricher | null;
  /** extra outputs (tests) */
  outputs?: EventOutput[];
}

export type ReloadReason = 'signal' | 'watch' | 'fleet' | 'api';

export class Service {
  readonly config: RunConfig;
  readonly daemon: Daemon;
  readonly metrics: DaemonMetrics;
  readonly #log: Logger;
  #policies: PolicyProvider | null = null;
  #http: MetricsServer | null = null;

  constructor(config: RunConfig, deps: ServiceDeps) {
    this.config = config;
    this.#log = deps.log.child({ component: 'service' });
    this.metrics = new DaemonMetrics();
    this.daemon = new Daemon(config.daemon, {
      log: deps.log,
      probe: deps.probe,
      enricher: deps.enricher ?? null,
      outputs: [...(deps.outputs ?? []), this.metrics.output()],
      policies: { load: () => this.#provider().load() },
    });
    this.metrics.observe(this.daemon);
  }

  /** The address the metrics endpoint listens on, once started (host:port), or null. */
  get metricsAddress(): string | null {
    return this.#http?.address ?? null;
  }

  /** Where the policies come from; set once start() has opened it. */
  get policies(): PolicyProvider | null {
    return this.#policies;
  }

  #provider(): PolicyProvider {
    if (!this.#policies) throw new Error('the policy source is not open');
    return this.#policies;
  }

  async start(): Promise<void> {
    const fleet = this.config.fleet;
    this.#policies = fleet
      ? await FleetPolicies.open(fleet, {
          host: this.config.daemon.host,
          mode: this.daemon.mode,
          log: this.#log,
        })
      : new FilePolicies(this.config.daemon.policyPaths, this.#log);
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
        this.#http = new MetricsServer(this.metrics, this.daemon, this.#log);
        await this.#http.start(this.config.metrics.listen);
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
    this.#log.info({ reason, files }, 'reloading policies');
    const ok = await this.daemon.reload();
    const plan = this.daemon.plan;
    await this.#policies?.settled(
      ok && plan ? { ok: true, plan } : { ok: false, error: this.daemon.lastReloadError },
    );
    if (ok) this.#log.info({ reason, policies: this.daemon.plan?.policies.length }, 'policies reloaded');
    return ok;
  }

  async stop(): Promise<void> {
    // no reload starts once stopping: the watch ends first
    const policies = this.#policies;
    this.#policies = null;
    await policies?.stop();
    await this.#http?.stop();
    this.#http = null;
    await this.daemon.stop();
  }
}
