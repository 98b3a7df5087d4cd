/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * sysctl: reads and writes of kernel settings. MUST MATCH src/kinds/sysctl.ts.
 *
 * Keys (bg_path_rules): op BG_OP_SYSCTL_*, the name with '/' separators
 * (exact, or a prefix ending in '/').
 * The record: path = the name, aux = the new value (writes), arg0 = op.
 * Caller: cgroup/sysctl.
 */
#ifndef BPFGATE_KIND_SYSCTL_H
#define BPFGATE_KIND_SYSCTL_H

#include "lib/common.h"

#define BG_KIND_SYSCTL 13

enum bg_sysctl_op { BG_OP_SYSCTL_READ = 1, BG_OP_SYSCTL_WRITE = 2 };

/* The access ctx asks for: its name and, for a write, the new value (the cgroup hook's helpers). */
BG_INLINE int bg_sysctl_decide(struct bg_work *w, struct bpf_sysctl *ctx, __u8 mech,
			       __u32 mode)
{
	__u8 op = ctx->write ? BG_OP_SYSCTL_WRITE : BG_OP_SYSCTL_READ;
	long n;

	bg_key_path(w, BG_KIND_SYSCTL, op);
	n = bpf_sysctl_get_name(ctx, w->pkey.path, sizeof(w->pkey.path), 0);
	if (n < 0 && n != -E2BIG)
		return 0;
	if (!bg_match(w, BG_KIND_SYSCTL, mode))
		return 0;
	/* the record's path: the name again, with room for a longer one than the key holds */
	n = bpf_sysctl_get_name(ctx, w->buf, BG_EXE_MAX, 0);
	w->start = 0;
	w->len = n >= 0 ? n + 1 : BG_EXE_MAX;
	w->truncated = n == -E2BIG;
	w->aux[0] = 0;
	if (op == BG_OP_SYSCTL_WRITE)
		bpf_sysctl_get_new_value(ctx, w->aux, sizeof(w->aux));
	return bg_report(w, BG_KIND_SYSCTL, op, mech, mode, BG_REC_PATH | BG_REC_AUX, op, 0, 0, 0);
}

#endif /* BPFGATE_KIND_SYSCTL_H */
