#!/usr/bin/env bash
# The whole test suite, set-up included: Debian packages, Node.js 24, npm
# dependencies, the BPF objects and the addon; then type check, lint, unit
# tests, host-kernel tests, NATS tests, the ecosystem tests (a NATS cluster in
# containers, Prometheus, Chromium: scripts/test-tools.sh installs and starts
# them), and the kernel suite in a QEMU guest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/test-tools.sh
. scripts/env.sh
echo "== node $(node --version), kernel $(uname -r)"
npm run --silent typecheck
npm run --silent lint
npx vitest run --project unit --project host --project nats --project ecosystem
npx vitest run --project kernel
