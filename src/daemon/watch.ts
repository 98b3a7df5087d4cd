// Policy folder watching: a change to a policy file calls `onChange` once the
// changes have settled (debounced). Folders are watched for their *.yaml and
// *.yml files and for Kubernetes ConfigMap swaps (`..data`); a single file is
// watched through its folder, so editors that replace the file by a rename
// are seen too.
import { type FSWatcher, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface WatchLog {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface PolicyWatcherOptions {
  paths: readonly string[];
  debounceMs: number;
  onChange: (files: string[]) => void;
  log: WatchLog;
}

const POLICY_FILE = /\.ya?ml$/;

/** Whether a change to `name` in a watched policy folder may change the policy set. */
export function isPolicyChange(name: string | null): boolean {
  if (name === null) return true; // the platform did not say which file: assume it matters
  return POLICY_FILE.test(name) || name === '..data';
}

export class PolicyWatcher {
  readonly #o: PolicyWatcherOptions;
  #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | null = null;
  #changed = new Set<string>();

  constructor(o: PolicyWatcherOptions) {
    this.#o = o;
  }

  start(): void {
    for (const path of this.#o.paths) {
      let dir = path;
      let only: string | null = null;
      try {
        if (!statSync(path).isDirectory()) {
          dir = dirname(path);
          only = basename(path);
        }
      } catch (err) {
        this.#o.log.warn({ err, path }, 'cannot watch a policy path; SIGHUP still reloads');
        continue;
      }
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          const file = name === null ? null : String(name);
          if (only !== null ? file === only || file === null : isPolicyChange(file)) this.#touch(file ?? dir);
        });
        w.on('error', (err) =>
          this.#o.log.warn({ err, path: dir }, 'policy watch failed; SIGHUP still reloads'),
        );
        this.#watchers.push(w);
      } catch (err) {
        this.#o.log.warn({ err, path: dir }, 'cannot watch a policy folder; SIGHUP still reloads');
      }
    }
  }

  /** Folders and files being watched. */
  get watching(): number {
    return this.#watchers.length;
  }

  #touch(file: string): void {
    this.#changed.add(file);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const files = [...this.#changed];
      this.#changed.clear();
      this.#o.log.debug({ files }, 'policy files changed');
      this.#o.onChange(files);
    }, this.#o.debounceMs);
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
  }
}
