#!/usr/bin/env bash
# The whole test suite, set-up included: Debian packages, Node.js 24, npm
# dependencies, the BPF objects and the addon; then type check, lint, unit
# tests, host-kernel tests, NATS tests, the ecosystem tests (a NATS cluster in
# containers, Prometheus, Chromium), the package suite (the Debian package
# and the container image, installed and run for real), and the kernel suite
# in a QEMU guest.
set -euo pipefail
# the whole suite, always: a developer's case filter (test/support/adversarial.ts) never reaches it
unset BPFGATE_ADV_ONLY
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
# the container engine's packages, and mmdebstrap for the package suite's
# Debian root file system
need=()
for p in docker.io mmdebstrap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  # the system's dockerd must not start on install (where systemd runs): it
  # would add a bridge and set the FORWARD policy to DROP
  rc=/usr/sbin/policy-rc.d
  if [ ! -e "$rc" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$rc" && chmod 0755 "$rc"
    trap 'rm -f "$rc"' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ "$(trap -p EXIT)" = "" ] || { rm -f "$rc"; trap - EXIT; }
fi
# what the ecosystem tests use: prometheus, chromium, and the engine the
# cluster tests start containers on (scripts/engine.sh: no iptables rules, no
# forwarding change, images built locally, nothing pulled)
bash scripts/test-tools.sh
. scripts/env.sh
echo "== node $(node --version), kernel $(uname -r)"
npm run --silent typecheck
npm run --silent lint
npx vitest run --project unit --project host --project nats --project ecosystem
# the package suite: the Debian package and the image built once per source
# change (npm run package, by the suite's set-up once its dockerd runs),
# installed and run in containers of a dockerd of its own (no bridge, no
# iptables rules, nothing pulled); a Debian root file system with systemd
# built once by mmdebstrap from Debian's packages
npx vitest run --project package
npx vitest run --project kernel
