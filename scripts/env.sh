# Sourced by the scripts: puts the Node.js chosen by setup.sh first on PATH.
_bg_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$_bg_root/.tools/bin:$_bg_root/node_modules/.bin:$PATH"
