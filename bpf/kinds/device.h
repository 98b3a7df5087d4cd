/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * device: device node access. MUST MATCH src/kinds/device.ts.
 *
 * Keys (bg_rules): op BG_OP_DEVICE_*, a = 'c' or 'b', b = major or BG_ANY,
 * c = minor or BG_ANY; one lookup per access asked for.
 * The record: arg0 = 'c' or 'b', arg1 = major, arg2 = minor, arg3 = the
 * access bits (BPF_DEVCG_ACC_*); path = the acting executable.
 * Caller: cgroup/dev.
 */
#ifndef BPFGATE_KIND_DEVICE_H
#define BPFGATE_KIND_DEVICE_H

#include "lib/common.h"

#define BG_KIND_DEVICE 12

enum bg_device_op { BG_OP_DEVICE_READ = 1, BG_OP_DEVICE_WRITE = 2, BG_OP_DEVICE_MKNOD = 3 };

BG_INLINE void bg_device_try(struct bg_work *w, struct bg_best *best, __u8 op,
			     __u32 type, __u32 major, __u32 minor, __u32 mode)
{
	bg_key_rule(w, BG_KIND_DEVICE, op, type, major, minor, BG_WILD_C);
	bg_match(w, BG_KIND_DEVICE, mode);
	bg_best_take(w, best, op, 0);
}

/* type: 'c' or 'b'; access: BG_DEVCG_ACC_* bits. */
BG_INLINE int bg_device_decide(struct bg_work *w, __u32 type, __u32 major, __u32 minor,
			       __u32 access, __u8 mech, __u32 mode)
{
	struct bg_best best = {};

	if (access & BG_DEVCG_ACC_READ)
		bg_device_try(w, &best, BG_OP_DEVICE_READ, type, major, minor, mode);
	if (access & BG_DEVCG_ACC_WRITE)
		bg_device_try(w, &best, BG_OP_DEVICE_WRITE, type, major, minor, mode);
	if (access & BG_DEVCG_ACC_MKNOD)
		bg_device_try(w, &best, BG_OP_DEVICE_MKNOD, type, major, minor, mode);
	if (!best.rank)
		return 0;
	bg_best_apply(w, &best);
	return bg_report(w, BG_KIND_DEVICE, best.op, mech, mode, BG_REC_EXE, type, major, minor, access);
}

#endif /* BPFGATE_KIND_DEVICE_H */
