// Large policy sets are parsed in a worker thread. The YAML library's
// parsing with positions makes most of its garbage in V8's young generation,
// which grows to its maximum (over 100 MiB at 10,000 rules) and is not given
// back to the system once the parse is over: in a worker, with a bounded young
// generation, most of that memory goes away with the worker. The result is plain data
// (structured clone). Small sets are parsed in place: starting a worker costs
// more than they do.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { type PolicyResult, type PolicySource, parsePolicySources } from './index.ts';

/** from this much YAML on, the parse runs in a worker (about 1,500 rules of the usual size) */
export const WORKER_MIN_BYTES = 256 * 1024;
/**
 * the worker's young generation (MiB). Measured at 10,000 rules: the daemon's
 * resident memory after the parse 279 MiB in place; 204 / 221 / 238 MiB with
 * 8 / 16 / 32 (what a worker's young generation held is not all given back);
 * 4 made the parse twice as slow (scavenges), 16 is as fast as in place.
 */
const YOUNG_MB = 16;

/** Where a parse ran: here (a small set), in a worker, or here after the worker failed (`err`). */
export type ParsedWhere = { where: 'here' | 'worker' } | { where: 'here'; workerFailed: unknown };

/** parsePolicySources, in a worker thread when the sources are large; the same result. */
export async function parsePolicySourcesAside(
  sources: PolicySource[],
  told: (w: ParsedWhere) => void = () => {},
): Promise<PolicyResult> {
  let bytes = 0;
  for (const s of sources) bytes += s.text.length;
  if (bytes < WORKER_MIN_BYTES) {
    told({ where: 'here' });
    return parsePolicySources(sources);
  }
  try {
    const r = await inWorker(sources);
    told({ where: 'worker' });
    return r;
  } catch (err) {
    // no worker (threads unavailable, the worker failed): the same parse, here
    told({ where: 'here', workerFailed: err });
    return parsePolicySources(sources);
  }
}

function inWorker(sources: PolicySource[]): Promise<PolicyResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), {
      workerData: { bpfgatePolicySources: sources },
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB },
    });
    let result: PolicyResult | undefined;
    w.once('message', (r: PolicyResult) => {
      result = r;
    });
    w.once('error', reject);
    w.once('exit', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`policy parse worker exited with code ${code} and no result`));
    });
  });
}

const job = (workerData as { bpfgatePolicySources?: PolicySource[] } | null)?.bpfgatePolicySources;
if (!isMainThread && parentPort && job) parentPort.postMessage(parsePolicySources(job));
