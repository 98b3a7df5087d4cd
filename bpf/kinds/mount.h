/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * mount: mount, umount and pivot_root. MUST MATCH src/kinds/mount.ts.
 *
 * Keys (bg_rules): op BG_OP_MOUNT_*, a = fnv1a32(filesystem type) or BG_ANY.
 * The record: path = the mount point (pivot_root: the new root), aux = the
 * filesystem type, arg0 = the mount flags (umount: its flags).
 * Callers: lsm/sb_mount, lsm/sb_umount, lsm/sb_pivotroot and
 * raw_tracepoint/sys_enter (mount, umount2, pivot_root).
 */
#ifndef BPFGATE_KIND_MOUNT_H
#define BPFGATE_KIND_MOUNT_H

#include "lib/common.h"

#define BG_KIND_MOUNT 7

enum bg_mount_op { BG_OP_MOUNT_MOUNT = 1, BG_OP_MOUNT_UMOUNT = 2, BG_OP_MOUNT_PIVOT_ROOT = 3 };

/* The filesystem type's name is in w->aux ("" when the caller does not know
 * it); at: the mount point, built for the record only. */
BG_INLINE int bg_mount_decide(struct bg_work *w, __u8 op, __u64 flags,
			      const struct bg_path_src *at, __u8 mech, __u32 mode)
{
	__u32 h = w->aux[0] ? bg_fnv1a32(w->aux, sizeof(w->aux)) : BG_ANY;

	bg_key_rule(w, BG_KIND_MOUNT, op, h, 0, 0, h == BG_ANY ? BG_WILD_NONE : BG_WILD_A);
	if (!bg_match(w, BG_KIND_MOUNT, mode))
		return 0;
	bg_path_build(w, at);
	return bg_report(w, BG_KIND_MOUNT, op, mech, mode, BG_REC_PATH | BG_REC_AUX, flags, 0, 0, 0);
}

#endif /* BPFGATE_KIND_MOUNT_H */
