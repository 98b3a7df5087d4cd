#!/bin/sh
# /usr/bin/bpfgate: bpfgate with the Node.js it ships (/usr/lib/bpfgate/node).
# Compiled code is cached in /var/cache/bpfgate (root only), never beside the
# installed files.
: "${NODE_COMPILE_CACHE:=/var/cache/bpfgate/node-compile-cache}"
export NODE_COMPILE_CACHE
exec /usr/lib/bpfgate/node/bin/node /usr/lib/bpfgate/bin/bpfgate.js "$@"
