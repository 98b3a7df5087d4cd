// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * bg_uprobe: audit (or kill) entries of, and returns from, a user-space
 * function. One program serves every uprobe rule: the loader attaches it once
 * per rule on the binary's inode, as a uprobe or a uretprobe, with the rule
 * id, the capture and the direction in the cookie (bpf/kinds/uprobe.h).
 * Uprobes fire in every process that runs the function: the decision enters
 * the process's scope first (bg_enter), so a process outside every policy's
 * scope costs one scope lookup and nothing is read from its memory.
 */
#include "lib/common.h"
#include "kinds/uprobe.h"

#define UP_MECH BG_MECH_UPROBE
#define UP_MODE (BG_CAN_KILL | BG_NO_BLOCK)
/* a kill from a return probe lands after the function returned: its effects stay (killed-after) */
#define UP_RET_MODE (UP_MODE | BG_KILL_AFTER)

/* PAM captures: the handle pam_authenticate was called with, per thread, until it returns */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} bg_uprobe_calls SEC(".maps");

SEC("uprobe")
int bg_uprobe(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 rule_id = (__u32)cookie;
	__u32 capture = (cookie >> 32) & 0xff;
	int ret = (cookie >> 40) & 1;
	__u64 id = bpf_get_current_pid_tgid();
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_UPROBE);
	__u64 *pamh, user = 0;

	if (!w)
		return 0;
	if (!ret) {
		if (capture == BG_UPC_PAM) {
			__u64 h = PT_REGS_PARM1(ctx);

			bpf_map_update_elem(&bg_uprobe_calls, &id, &h, BPF_ANY);
			return 0;
		}
		bg_uprobe_decide(w, rule_id, capture, PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx), 0, UP_MECH,
				 UP_MODE);
		return 0;
	}
	switch (capture) {
	case BG_UPC_RET_STRING:
		bg_uprobe_decide(w, rule_id, capture, PT_REGS_RC(ctx), 0, (const void *)PT_REGS_RC(ctx), UP_MECH,
				 UP_RET_MODE);
		break;
	case BG_UPC_PAM:
		pamh = bpf_map_lookup_elem(&bg_uprobe_calls, &id);
		if (pamh && *pamh)
			bpf_probe_read_user(&user, sizeof(user), (const void *)(*pamh + BG_PAM_USER_OFF));
		bpf_map_delete_elem(&bg_uprobe_calls, &id);
		bg_uprobe_decide(w, rule_id, capture, PT_REGS_RC(ctx), 0, (const void *)user, UP_MECH, UP_RET_MODE);
		break;
	default:
		bg_uprobe_decide(w, rule_id, capture, PT_REGS_RC(ctx), 0, 0, UP_MECH, UP_RET_MODE);
	}
	return 0;
}
