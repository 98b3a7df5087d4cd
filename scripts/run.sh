#!/usr/bin/env bash
# The main job, set-up included: the daemon on the bundled policies, in audit
# mode unless told otherwise. Extra arguments go to `bpfgate run`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
. scripts/env.sh
exec node bin/bpfgate.js run --policies policies/ --audit "$@"
