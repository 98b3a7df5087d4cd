/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * kprobe: calls of a kernel function. MUST MATCH src/kinds/kprobe.ts.
 *
 * Keys (bg_rules): op BG_OP_NONE, a = the rule id (the attach cookie: one
 * program serves every kprobe rule, attached once per rule).
 * The record: arg0..arg3 = the function's first arguments; the path is left
 * empty (user space knows the function from the rule id).
 * Caller: kprobe.
 */
#ifndef BPFGATE_KIND_KPROBE_H
#define BPFGATE_KIND_KPROBE_H

#include "lib/common.h"

#define BG_KIND_KPROBE 14

BG_INLINE int bg_kprobe_decide(struct bg_work *w, __u32 rule_id, struct pt_regs *regs,
			       __u8 mech, __u32 mode)
{
	bg_key_rule(w, BG_KIND_KPROBE, BG_OP_NONE, rule_id, 0, 0, BG_WILD_NONE);
	if (!bg_match(w, BG_KIND_KPROBE, mode))
		return 0;
	/* the function's arguments are whatever it was given: a repeat is the rule firing again */
	return bg_report(w, BG_KIND_KPROBE, BG_OP_NONE, mech, mode, BG_REC_ANY_TARGET, PT_REGS_PARM1_CORE(regs),
			 PT_REGS_PARM2_CORE(regs), PT_REGS_PARM3_CORE(regs), PT_REGS_PARM4_CORE(regs));
}

#endif /* BPFGATE_KIND_KPROBE_H */
