// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * bg_kprobe: audit (or kill) calls of a kernel function. One program serves
 * every kprobe rule: the loader attaches it once per function with the rule id
 * as the attach cookie, and the rule is looked up as bg_rules
 * (kind kprobe, a = rule id) in each slot in scope. The record's path is left
 * empty: user space knows the function from the rule id.
 */
#include "lib/common.h"

#define KP_CTX BG_CTX_TASK
#define KP_MODE (BG_CAN_KILL | BG_NO_BLOCK)

SEC("kprobe")
int bg_kprobe(struct pt_regs *ctx)
{
	struct bg_work *w = bg_work_get(BG_HEAP_NESTED);
	struct bg_gen_config *cfg = 0;
	__u32 rule_id = (__u32)bpf_get_attach_cookie(ctx);
	struct bg_verdict vd;
	struct bg_event *e;

	if (!w || !bg_scope(w, &cfg, KP_CTX) || !cfg)
		return 0;
	bg_key_rule(w, BG_KIND_KPROBE, BG_OP_NONE, rule_id, 0, 0, BG_WILD_NONE);
	if (!bg_match(w, cfg, BG_KIND_KPROBE, KP_MODE))
		return 0;
	vd = bg_act(w, KP_MODE);
	if (w->action < BG_ACT_AUDIT)
		return 0;
	e = bg_event_new(w, BG_KIND_KPROBE, BG_OP_NONE, BG_MECH_KPROBE, &vd, KP_CTX);
	if (!e)
		return 0;
	e->arg[0] = PT_REGS_PARM1_CORE(ctx);
	e->arg[1] = PT_REGS_PARM2_CORE(ctx);
	e->arg[2] = PT_REGS_PARM3_CORE(ctx);
	e->arg[3] = PT_REGS_PARM4_CORE(ctx);
	bg_event_submit(e);
	return 0;
}
