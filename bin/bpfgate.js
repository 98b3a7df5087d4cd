#!/usr/bin/env node
// bpfgate runs its TypeScript sources directly on Node.js >= 22.18 (type stripping).
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `bpfgate: Node.js >= 22.18 is required (found ${process.versions.node}); run scripts/setup.sh\n`,
  );
  process.exit(4); // a runtime error (docs: exit codes), not a usage error: systemd retries it
}
// Cache compiled (type-stripped) modules beside the checkout, not in a shared
// temporary folder: another user must never be able to plant code that a
// root daemon loads. Where the folder cannot be written (a read-only root),
// Node simply runs without the cache.
if (!process.env.NODE_COMPILE_CACHE) {
  module.enableCompileCache?.(fileURLToPath(new URL('../.cache/node-compile-cache', import.meta.url)));
}
await import('../src/cli/main.ts');
