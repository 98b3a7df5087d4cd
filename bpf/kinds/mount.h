/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * mount: mount, umount and pivot_root. MUST MATCH src/kinds/mount.ts.
 *
 * Keys (bg_rules): op BG_OP_MOUNT_*, a = fnv1a32(filesystem type) or BG_ANY.
 * The record: path = the mount point (pivot_root: the new root), aux = the
 * filesystem type, arg0 = the mount flags (umount: its flags), arg1 = the call
 * when it is not mount(2) (BG_MOUNT_VIA_MOVE_MOUNT).
 * Callers: lsm/sb_mount, lsm/move_mount, lsm/sb_umount, lsm/sb_pivotroot and
 * raw_tracepoint/sys_enter (mount, umount2, pivot_root).
 *
 * The filesystem type is the superblock's wherever the hook has one: a
 * remount, a propagation change (the target's), move_mount (the mount moved
 * or attached: fsmount's, open_tree's clone), umount. A new mount by mount(2)
 * is decided on the type string up to its first '.': that is the name the
 * kernel looks up (get_fs_type: "fuse.sshfs" is fuse) for the new superblock.
 */
#ifndef BPFGATE_KIND_MOUNT_H
#define BPFGATE_KIND_MOUNT_H

#include "lib/common.h"

#define BG_KIND_MOUNT 7

enum bg_mount_op { BG_OP_MOUNT_MOUNT = 1, BG_OP_MOUNT_UMOUNT = 2, BG_OP_MOUNT_PIVOT_ROOT = 3 };

/* The record's arg1: the call the mount came through, when not mount(2). */
#define BG_MOUNT_VIA_MOVE_MOUNT 1

/* mount(2) flags (uapi/linux/mount.h: macros, not in BTF) */
#define BG_MS_REMOUNT 32
#define BG_MS_BIND 4096
#define BG_MS_MOVE 8192
#define BG_MS_PROPAGATION ((1 << 17) | (1 << 18) | (1 << 19) | (1 << 20)) /* UNBINDABLE PRIVATE SLAVE SHARED */

/* The key of a filesystem type the hook cannot know (mount(2) with MS_BIND or
 * MS_MOVE names its source by a string the kernel resolves later): a block or
 * kill rule naming types is decided as a match there (fail closed, the
 * event's `unresolved`), unless the rule opts out. MUST MATCH
 * MOUNT_TYPE_UNRESOLVED in src/kinds/mount.ts. */
#define BG_MOUNT_TYPE_UNRESOLVED 0xfffffffeu

/* h: fnv1a32 of the filesystem type (w->aux holds its name), BG_ANY when the
 * caller does not know it, or BG_MOUNT_TYPE_UNRESOLVED (then ev_flags is
 * BG_EV_F_UNRESOLVED); at: the mount point, built for the record only;
 * arg1: 0 for mount(2), umount2(2) and pivot_root(2), else BG_MOUNT_VIA_*. */
BG_INLINE int bg_mount_decide_as(struct bg_work *w, __u8 op, __u32 h, __u32 ev_flags, __u64 flags, __u64 arg1,
				 const struct bg_path_src *at, __u8 mech, __u32 mode)
{
	bg_key_rule(w, BG_KIND_MOUNT, op, h, 0, 0, h == BG_ANY ? BG_WILD_NONE : BG_WILD_A);
	if (!bg_match(w, BG_KIND_MOUNT, mode))
		return 0;
	bg_path_build(w, at);
	w->truncated |= ev_flags;
	return bg_report(w, BG_KIND_MOUNT, op, mech, mode, BG_REC_PATH | BG_REC_AUX, flags, arg1, 0, 0);
}

/* The filesystem type's name is in w->aux ("" when the caller does not know
 * it); at: the mount point, built for the record only. */
BG_INLINE int bg_mount_decide(struct bg_work *w, __u8 op, __u64 flags, const struct bg_path_src *at, __u8 mech,
			      __u32 mode)
{
	__u32 h = w->aux[0] ? bg_fnv1a32(w->aux, sizeof(w->aux)) : BG_ANY;

	return bg_mount_decide_as(w, op, h, 0, flags, 0, at, mech, mode);
}

#endif /* BPFGATE_KIND_MOUNT_H */
