#!/usr/bin/env bash
# What the ecosystem tests need besides scripts/setup.sh, installed and
# started here, idempotently, as root: Debian's prometheus (the server and
# promtool) and chromium (headless), and the container engine with the
# locally built test images (scripts/engine.sh). Nothing is pulled from a
# container registry.
set -euo pipefail
cd "$(dirname "$0")"
. lib/apt.sh
apt_install_missing prometheus chromium
bash engine.sh images
