// The daemon as a service: the Daemon, the policy watcher and the metrics
// endpoint, started in that order and stopped in reverse. Signals stay with
// the command (src/cli/commands/run.ts), which calls reload() and stop().
import type { FeatureSet } from '../compiler/features.ts';
import type { Logger } from '../log.ts';
import type { RunConfig } from './config.ts';
import { Daemon } from './daemon.ts';
import { MetricsServer } from './http.ts';
import { DaemonMetrics } from './metrics.ts';
import type { Enricher, EventOutput } from './pipeline.ts';
import { PolicyWatcher } from './watch.ts';

export interface ServiceDeps {
  log: Logger;
  probe: () => Promise<FeatureSet>;
  enricher?: Enricher | null;
  /** extra outputs (tests) */
  outputs?: EventOutput[];
}

export type ReloadReason = 'signal' | 'watch' | 'api';

export class Service {
  readonly config: RunConfig;
  readonly daemon: Daemon;
  readonly metrics: DaemonMetrics;
  readonly #log: Logger;
  #watcher: PolicyWatcher | null = null;
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
    });
    this.metrics.observe(this.daemon);
  }

  /** The address the metrics endpoint listens on, once started (host:port), or null. */
  get metricsAddress(): string | null {
    return this.#http?.address ?? null;
  }

  async start(): Promise<void> {
    await this.daemon.start();
    try {
      if (this.config.metrics.listen !== null) {
        this.#http = new MetricsServer(this.metrics, this.daemon, this.#log);
        await this.#http.start(this.config.metrics.listen);
      }
      if (this.config.policyWatch.enabled) {
        this.#watcher = new PolicyWatcher({
          paths: this.config.daemon.policyPaths,
          debounceMs: this.config.policyWatch.debounceMs,
          onChange: (files) => void this.reload('watch', files),
          log: this.#log,
        });
        this.#watcher.start();
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
    if (ok) this.#log.info({ reason, policies: this.daemon.plan?.policies.length }, 'policies reloaded');
    return ok;
  }

  async stop(): Promise<void> {
    this.#watcher?.stop();
    this.#watcher = null;
    await this.#http?.stop();
    this.#http = null;
    await this.daemon.stop();
  }
}
