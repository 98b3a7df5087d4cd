#!/bin/sh
# Host smoke test of bg_cg_sysctl, scoped to a cgroup this script creates:
# a block rule for writes of kernel/hostname, selected by that cgroup's id.
# Expects: the write fails with EPERM inside the cgroup, reads succeed, and
# bg_stats counts one event and one denial. Needs root; undoes everything.
#   sh bpf/tools/host-smoke.sh      (after make -C bpf all tools)
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
PIN=/sys/fs/bpf/bgsmoke-$$
CG=/sys/fs/cgroup/unified/bgsmoke-$$
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

hex() { python3 -c "import sys; print(' '.join('%02x' % b for b in bytes.fromhex(sys.argv[1])))" "$1"; }
le32() { python3 -c "import struct,sys; print(struct.pack('<I', int(sys.argv[1])).hex())" "$1"; }
le64() { python3 -c "import struct,sys; print(struct.pack('<Q', int(sys.argv[1])).hex())" "$1"; }

cleanup() {
	bpftool cgroup detach "$CG" sysctl pinned "$PIN/bg_cg_sysctl" 2>/dev/null || true
	rmdir "$CG" 2>/dev/null || true
	rm -rf "$PIN"
}
trap cleanup EXIT

mkdir -p "$PIN/maps"
"$HERE/build/bgload" "$HERE/build/bpfgate.bpf.o" --pin "$PIN" --only cgroup/sysctl >/dev/null
mkdir "$CG"
CGID=$(stat -c %i "$CG")
M=$PIN/maps

# bg_state: generation 0
bpftool map update pinned "$M/bg_state" key hex 00 00 00 00 value hex $(hex "$(printf '%032d' 0)")
# bg_gen_config[0]: slot 0 active, any uid, any exe, kind_slots[sysctl] = slot 0
CFG=$(python3 -c "
import struct
v = struct.pack('<7Q', 1, 0, 1, 1, 0, 0, 0)
ks = [0]*16; ks[13] = 1
v += struct.pack('<16Q', *ks) + struct.pack('<16Q', *([0]*16)) + bytes(64)
print(v.hex())")
bpftool map update pinned "$M/bg_gen_config" key hex 00 00 00 00 value hex $(hex "$CFG")
# bg_scope_cgroup[{cgid, gen 0}] = {self: slot 0, subtree: 0}
bpftool map update pinned "$M/bg_scope_cgroup" key hex $(hex "$(le64 "$CGID")0000000000000000") \
	value hex $(hex "$(le64 1)$(le64 0)")
# bg_path_rules: exact "kernel/hostname", slot 0, kind sysctl, op write -> rule 42, block
KEY=$(python3 -c "
import struct
name = b'kernel/hostname\0'
k = struct.pack('<IBBBB', 32 + 8 * len(name), 0, 0, 13, 2) + name.ljust(252, b'\0')
print(k.hex())")
bpftool map update pinned "$M/bg_path_rules" key hex $(hex "$KEY") value hex $(hex "$(le32 42)03000000")

bpftool cgroup attach "$CG" sysctl pinned "$PIN/bg_cg_sysctl"

OUT=$(sh -c "echo \$\$ > $CG/cgroup.procs; cat /proc/sys/kernel/hostname >/dev/null && echo read-ok; \
	cat /proc/sys/kernel/hostname > /proc/sys/kernel/hostname 2>&1 && echo write-ok || echo write-denied" 2>&1)
OUTSIDE=$(sh -c "cat /proc/sys/kernel/hostname > /proc/sys/kernel/hostname && echo write-ok || echo write-denied" 2>&1)
echo "inside:  $OUT"
echo "outside: $OUTSIDE"
STATS=$(bpftool map dump pinned "$M/bg_stats" -j | python3 -c "
import json, sys
d = json.load(sys.stdin)
def total(e):
    return sum(int(v['value']) if isinstance(v['value'], int) else int.from_bytes(bytes(int(x, 16) for x in v['value']), 'little') for v in e['values'])
print(' '.join(str(total(e)) for e in d))")
echo "bg_stats: $STATS   (events drops denied killed ...)"
case "$OUT" in *read-ok*write-denied*) ;; *) echo "FAIL: inside"; exit 1 ;; esac
case "$OUTSIDE" in *write-ok*) ;; *) echo "FAIL: outside"; exit 1 ;; esac
set -- $STATS
[ "$1" -ge 1 ] && [ "$3" -ge 1 ] || { echo "FAIL: counters"; exit 1; }
echo PASS
