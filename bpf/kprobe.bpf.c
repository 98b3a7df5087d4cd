// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * bg_kprobe: audit (or kill) calls of a kernel function. One program serves
 * every kprobe rule: the loader attaches it once per function with the rule id
 * as the attach cookie (bpf/kinds/kprobe.h).
 */
#include "lib/common.h"
#include "kinds/kprobe.h"

#define KP_MECH BG_MECH_KPROBE
#define KP_MODE (BG_CAN_KILL | BG_NO_BLOCK)

SEC("kprobe")
int bg_kprobe(struct pt_regs *ctx)
{
	struct bg_work *w = bg_enter(BG_HEAP_NESTED, BG_KIND_KPROBE);

	if (!w)
		return 0;
	bg_kprobe_decide(w, (__u32)bpf_get_attach_cookie(ctx), ctx, KP_MECH, KP_MODE);
	return 0;
}
