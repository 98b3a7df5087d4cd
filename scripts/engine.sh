#!/usr/bin/env bash
# The container engine, for the tests that start containers (testcontainers)
# and for image builds: Debian's docker.io, its daemon started here (there is
# no systemd), and the test images built locally (nothing is ever pulled from
# a registry). Idempotent; as root.
#
#   bash scripts/engine.sh up       install docker.io if missing, start dockerd if it does not answer
#   bash scripts/engine.sh images   up, then build the test images that are missing (local/nats-server)
#   bash scripts/engine.sh env      print the environment testcontainers needs here (for eval)
#   bash scripts/engine.sh down     stop the dockerd this script started
#
# dockerd runs with --iptables=false --ip-forward=false: it leaves the host's
# forwarding switch and FORWARD policy as they were and adds no NAT rules, so
# tests that build network namespaces see the host's own defaults. Published
# ports still reach containers through docker-proxy, and containers of one
# network reach each other over its bridge; nothing leaves the machine.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"

ENGINE_DATA=${BPFGATE_ENGINE_DATA:-/var/lib/bpfgate-engine}
ENGINE_LOG=${BPFGATE_ENGINE_LOG:-/var/log/bpfgate-dockerd.log}
ENGINE_PID=/run/bpfgate-dockerd.pid
DOCKER=/usr/bin/docker
# The NATS image: Debian's nats-server with the shared libraries it links, FROM scratch.
NATS_IMAGE_REPO=local/nats-server

log() { echo "bpfgate engine: $*" >&2; }

engine_install() { apt_install_missing docker.io; }

engine_answers() { "$DOCKER" version >/dev/null 2>&1; }

engine_up() {
  engine_install
  if engine_answers; then return; fi
  mkdir -p "$ENGINE_DATA"
  log "starting dockerd (data in $ENGINE_DATA, log in $ENGINE_LOG)"
  setsid dockerd --data-root "$ENGINE_DATA" --pidfile "$ENGINE_PID" \
    --iptables=false --ip-forward=false --ip-masq=false \
    </dev/null >>"$ENGINE_LOG" 2>&1 &
  for _ in $(seq 1 150); do
    engine_answers && return
    sleep 0.2
  done
  log "dockerd did not answer within 30 s:"
  tail -20 "$ENGINE_LOG" >&2
  exit 1
}

engine_down() {
  [ -f "$ENGINE_PID" ] || return 0
  local pid
  pid=$(cat "$ENGINE_PID")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

# local/nats-server:<version of the host's nats-server>, built when missing.
nats_image() {
  local bin version tag ctx
  bin=$(command -v nats-server)
  version=$("$bin" --version | sed -E 's/^nats-server: v?//')
  tag="$NATS_IMAGE_REPO:$version"
  if "$DOCKER" image inspect "$tag" >/dev/null 2>&1; then
    echo "$tag"
    return
  fi
  ctx=$(mktemp -d)
  mkdir -p "$ctx/rootfs/usr/sbin"
  cp "$bin" "$ctx/rootfs/usr/sbin/nats-server"
  # the shared libraries it links (the loader included), at their own paths
  for lib in $(ldd "$bin" | grep -oE '/[^ ]+'); do
    mkdir -p "$ctx/rootfs$(dirname "$lib")"
    cp -L "$lib" "$ctx/rootfs$lib"
  done
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
EXPOSE 4222 6222 8222
ENTRYPOINT ["/usr/sbin/nats-server"]
EOF
  log "building $tag"
  DOCKER_BUILDKIT=0 "$DOCKER" build -q -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
  echo "$tag"
}

case "${1:-up}" in
  up) engine_up ;;
  images)
    engine_up
    nats_image >/dev/null
    ;;
  nats-image)
    engine_up
    nats_image
    ;;
  env)
    # Ryuk's image cannot be pulled here; without a host override testcontainers pulls alpine to find one
    echo "export TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1"
    ;;
  down) engine_down ;;
  *)
    echo "usage: $0 up|images|nats-image|env|down" >&2
    exit 2
    ;;
esac
