#!/usr/bin/env node
// bpfgate runs its TypeScript sources directly on Node.js >= 22.18 (type stripping).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `bpfgate: Node.js >= 22.18 is required (found ${process.versions.node}); run scripts/setup.sh\n`,
  );
  process.exit(2);
}
await import('../src/cli/main.ts');
