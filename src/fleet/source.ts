// Where the daemon's policies come from: files and folders on this host, or a
// NATS KV bucket shared by the fleet (./kv.ts). The daemon only calls load()
// (at start and on every reload) and validates nothing itself; the service
// starts and stops the provider, subscribes to its changes and tells it the
// outcome of each apply.
import type { Plan } from '../abi/plan.ts';
import { PolicyWatcher, type WatchLog } from '../daemon/watch.ts';
import { loadPolicyFiles, type PolicyResult } from '../policy/index.ts';
import { parsePolicySourcesAside } from '../policy/parse-worker.ts';

/** What became of a policy set the daemon loaded: applied, or rejected (the previous set stays). */
export type ApplyOutcome = { ok: true; plan: Plan } | { ok: false; error: unknown };

export interface PolicyProvider {
  /** for logs: 'files' or 'fleet' */
  readonly kind: 'files' | 'fleet';
  /**
   * The current policy set, read and validated (never throws for an invalid set: diagnostics say why).
   * `parsing`, when given, is told once the sources are read and their parse has begun.
   */
  load(parsing?: () => void): Promise<PolicyResult>;
  /** Call onChange (debounced) whenever the set may have changed; `what` names the changes. */
  watch(debounceMs: number, onChange: (what: string[]) => void): void;
  /** The outcome of the daemon's apply of the set the last load() returned. */
  settled(outcome: ApplyOutcome): Promise<void>;
  stop(): Promise<void>;
}

/** Policy files and folders (today's behaviour): read on every load, watched through the file system. */
export class FilePolicies implements PolicyProvider {
  readonly kind = 'files';
  readonly #paths: readonly string[];
  readonly #log: WatchLog;
  #watcher: PolicyWatcher | null = null;

  constructor(paths: readonly string[], log: WatchLog) {
    this.#paths = paths;
    this.#log = log;
  }

  load(parsing?: () => void): Promise<PolicyResult> {
    // a large set is parsed in a worker thread: its parse's memory leaves with it, and the
    // daemon's thread is free meanwhile (at start, for the kernel probe)
    return loadPolicyFiles([...this.#paths], undefined, (sources) => {
      const parsed = parsePolicySourcesAside(sources, (w) => {
        if ('workerFailed' in w)
          this.#log.warn(
            { err: String(w.workerFailed) },
            'the policy parse worker failed: the policies were parsed in the daemon itself',
          );
      });
      parsing?.();
      return parsed;
    });
  }

  watch(debounceMs: number, onChange: (what: string[]) => void): void {
    this.#watcher = new PolicyWatcher({ paths: this.#paths, debounceMs, onChange, log: this.#log });
    this.#watcher.start();
  }

  async settled(_outcome: ApplyOutcome): Promise<void> {}

  async stop(): Promise<void> {
    this.#watcher?.stop();
    this.#watcher = null;
  }
}
