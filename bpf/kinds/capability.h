/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * capability: capability checks. MUST MATCH src/kinds/capability.ts.
 *
 * Keys (bg_rules): op BG_OP_NONE, a = the capability number.
 * The record: arg0 = the capability; path = the acting executable.
 * Caller: lsm/capable.
 */
#ifndef BPFGATE_KIND_CAPABILITY_H
#define BPFGATE_KIND_CAPABILITY_H

#include "lib/common.h"

#define BG_KIND_CAPABILITY 3

/* A check of capability cap; quiet: the kernel does not audit it (CAP_OPT_NOAUDIT), so
 * it is enforced but reported only when it is denied or killed. */
BG_INLINE int bg_capability_decide(struct bg_work *w, __u32 cap, int quiet, __u8 mech,
				   __u32 mode)
{
	bg_key_rule(w, BG_KIND_CAPABILITY, BG_OP_NONE, cap, 0, 0, BG_WILD_NONE);
	if (!bg_match(w, BG_KIND_CAPABILITY, mode))
		return 0;
	return bg_report(w, BG_KIND_CAPABILITY, BG_OP_NONE, mech, mode, BG_REC_EXE | (quiet ? BG_REC_QUIET : 0),
			 cap, 0, 0, 0);
}

#endif /* BPFGATE_KIND_CAPABILITY_H */
