// What a start or a reload leaves behind, given back. Reading, parsing and
// compiling a large policy set makes tens of MiB of garbage in the daemon's
// heap, and the C heap keeps the pages it freed. A daemon that then only
// handles events allocates little, so V8 would neither collect nor shrink for
// a long time: the process would keep its start-up peak as resident memory.
// After a start and after each reload the daemon asks for one full
// collection and returns the C heap's free pages (glibc's malloc_trim).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = () => void;

let collect: Collect | null | undefined;

/** V8's full collection: the global one when Node was started with --expose-gc, else one exposed now. */
function collector(): Collect | null {
  if (collect !== undefined) return collect;
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') {
    collect = own as Collect;
    return collect;
  }
  try {
    // the flag applies to contexts created from now on: a fresh one carries gc()
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    collect = typeof fn === 'function' ? (fn as Collect) : null;
  } catch {
    collect = null;
  }
  return collect;
}

/** One full collection, then the C heap trimmed; true when both ran. */
export function releaseMemory(trimCHeap: () => boolean): boolean {
  const gc = collector();
  gc?.();
  let trimmed = false;
  try {
    trimmed = trimCHeap();
  } catch {
    // an addon without trimMemory (an older build): the collection alone
  }
  return gc !== null && trimmed;
}
