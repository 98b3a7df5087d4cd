#!/bin/busybox sh
# Guest init for the bpfgate kernel test harness (test/support/guest.ts).
#
# Runs as PID 1 from a busybox initramfs on Debian's generic kernel under QEMU.
# It loads the 9p/virtio modules listed in /modules/order, mounts the host's
# root read-only (9p tag "hostroot") on /mnt and the run's writable scratch
# folder (9p tag "share") on /mnt/media, prepares /proc /sys /dev /tmp /run and
# the BPF-related file systems, then runs /media/run.sh (written by the host)
# inside `chroot /mnt`. stdout, stderr and the exit code go to the share.
# Lines starting with "bpfgate-vm:" on the console are progress markers the
# host reads; keep their wording in step with guest.ts.

/bin/busybox mkdir -p /proc /sys /dev /mnt /tmp
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

log() { echo "bpfgate-vm: $*"; }
fail() {
  log "boot-failed: $*"
  sync
  poweroff -f
  sleep 5
  exit 1
}

log "init $(uname -r)"

# Kernel modules, in dependency order; retry the ones that fail (an order that
# is off by one pass still converges).
pending=$(cat /modules/order)
pass=0
while [ -n "$pending" ] && [ "$pass" -lt 8 ]; do
  left=""
  for m in $pending; do
    insmod "/modules/$m.ko" 2>/dev/null || left="$left $m"
  done
  pending=$left
  pass=$((pass + 1))
done
if [ -n "$pending" ]; then
  for m in $pending; do insmod "/modules/$m.ko"; done
  fail "modules not loaded:$pending"
fi
log "modules loaded"

mount9p() {
  # $1 tag, $2 mount point, $3 extra options
  i=0
  while ! mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144$3" "$1" "$2"; do
    i=$((i + 1))
    [ "$i" -ge 10 ] && return 1
    sleep 1
  done
}
mount9p hostroot /mnt ",ro" || fail "cannot mount the host root (9p tag hostroot)"
[ -d /mnt/media ] || fail "/media does not exist in the host root"
mount9p share /mnt/media "" || fail "cannot mount the scratch share (9p tag share) on /media"
[ -f /mnt/media/run.sh ] || fail "no run.sh on the share"

# Guest-side watchdog: the host kills QEMU at its deadline, but should the host
# process die first (an interrupted test run), the guest still powers off.
deadline=$(cat /mnt/media/deadline-seconds 2>/dev/null)
case "$deadline" in
  '' | *[!0-9]*) deadline=3600 ;;
esac
(
  sleep "$deadline"
  echo "bpfgate-vm: watchdog: ${deadline}s passed, powering off"
  poweroff -f
) &

# The chroot: guest kernel views of /proc /sys /dev over the host's folders.
mount --bind /proc /mnt/proc || fail "bind /proc"
mount --bind /sys /mnt/sys || fail "bind /sys"
mount --bind /dev /mnt/dev || fail "bind /dev"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /mnt/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /mnt/dev/shm
# The host's /tmp stays reachable (read-only) at /tmp/.host-tmp under the
# guest's tmpfs: run.sh binds the host folders it needs (e.g. a node kept in
# /tmp) back to their own paths.
mkdir -p /hosttmp
mount --bind /mnt/tmp /hosttmp
mount -t tmpfs -o mode=1777 tmpfs /mnt/tmp || fail "tmpfs /tmp"
mkdir -p /mnt/tmp/.host-tmp && mount --bind /hosttmp /mnt/tmp/.host-tmp
mount -t tmpfs -o mode=755 tmpfs /mnt/run || fail "tmpfs /run"
mount -t securityfs securityfs /mnt/sys/kernel/security || fail "securityfs"
mount -t bpf -o mode=700 bpf /mnt/sys/fs/bpf || fail "bpffs"
# Pure cgroup v2 at /sys/fs/cgroup (the host has a hybrid layout with v2 at
# /sys/fs/cgroup/unified; the guest exports BPFGATE_CGROUP2_ROOT).
mount -t cgroup2 -o nsdelegate cgroup2 /mnt/sys/fs/cgroup || fail "cgroup2"
mount -t tracefs tracefs /mnt/sys/kernel/tracing || log "no tracefs"
mount -t debugfs debugfs /mnt/sys/kernel/debug || log "no debugfs"
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
hostname bpfgate-vm

log "run"
chroot /mnt /bin/sh /media/run.sh </dev/null >/mnt/media/stdout 2>/mnt/media/stderr
rc=$?
echo "$rc" >/mnt/media/exit-code
log "exit $rc"
sync
poweroff -f
sleep 5
