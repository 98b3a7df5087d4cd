// Everything a benchmark attaches, starts or creates registers an undo here.
// cleanup() runs them in reverse order; it also runs on SIGINT/SIGTERM and on
// an uncaught error, so nothing stays attached or running after the bench.
type Undo = { what: string; fn: () => unknown };

const undos: Undo[] = [];
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      void cleanup().finally(() => process.exit(130));
    });
  }
}

/** Register an undo; returns a function that runs it now (once) and unregisters it. */
export function onCleanup(what: string, fn: () => unknown): () => Promise<void> {
  install();
  const u: Undo = { what, fn };
  undos.push(u);
  return async () => {
    const i = undos.indexOf(u);
    if (i < 0) return;
    undos.splice(i, 1);
    await u.fn();
  };
}

export async function cleanup(): Promise<void> {
  while (undos.length > 0) {
    const u = undos.pop() as Undo;
    try {
      await u.fn();
    } catch (err) {
      process.stderr.write(`bench cleanup: ${u.what}: ${(err as Error).message}\n`);
    }
  }
}
