// Watches the directories of the named executables (inotify, through
// fs.watch) so that a binary replaced under a named path (an upgrade renames
// a new inode onto its name) is resolved again at once, not at the next
// periodic check: until then the new file is "another file under a named
// path" (no exception applies to it, docs/policy-language.md). The periodic
// check stays: a watch can be missed (a directory made later, a symbolic
// link's target elsewhere).
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

export class ExeWatch {
  readonly #onChange: () => void;
  readonly #delayMs: number;
  /** directory → its watcher and the named names in it */
  #dirs = new Map<string, { watcher: FSWatcher; names: Set<string> }>();
  #timer: NodeJS.Timeout | null = null;

  /** `onChange` runs once per burst of changes, `delayMs` after the first. */
  constructor(onChange: () => void, delayMs = 100) {
    this.#onChange = onChange;
    this.#delayMs = delayMs;
  }

  /** Watch the directories of `paths` (absolute), and only those. A directory that cannot be watched is skipped. */
  set(paths: readonly string[]): void {
    const want = new Map<string, Set<string>>();
    for (const p of paths) {
      if (!p.startsWith('/')) continue; // a digest excepted alone (sha256:...) names no file
      const dir = dirname(p);
      const names = want.get(dir) ?? new Set<string>();
      names.add(basename(p));
      want.set(dir, names);
    }
    for (const [dir, w] of this.#dirs) {
      if (want.has(dir)) continue;
      w.watcher.close();
      this.#dirs.delete(dir);
    }
    for (const [dir, names] of want) {
      const had = this.#dirs.get(dir);
      if (had) {
        had.names = names;
        continue;
      }
      try {
        const entry = { watcher: undefined as unknown as FSWatcher, names };
        entry.watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || entry.names.has(String(name))) this.#schedule();
        });
        entry.watcher.on('error', () => {
          entry.watcher.close();
          this.#dirs.delete(dir);
        });
        this.#dirs.set(dir, entry);
      } catch {
        // missing or unreadable: the periodic check covers it
      }
    }
  }

  /** the directories watched now */
  get watched(): string[] {
    return [...this.#dirs.keys()].sort();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const w of this.#dirs.values()) w.watcher.close();
    this.#dirs.clear();
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#onChange();
    }, this.#delayMs);
    this.#timer.unref();
  }
}
