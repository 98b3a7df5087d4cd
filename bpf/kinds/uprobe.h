/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * uprobe: a user-space function entered (or returned from) in a binary or a
 * library. MUST MATCH src/kinds/uprobe.ts.
 *
 * Keys (bg_rules): op BG_OP_NONE, a = the rule id. One program serves every
 * uprobe rule: the loader attaches it once per rule (and binary, symbol) on
 * the binary's inode, with the cookie
 *   rule id | capture << 32 | return << 40
 * (enum bg_uprobe_capture; return: attached as a uretprobe).
 * The record: arg0 = the function's first argument (entry) or its return
 * value (return); arg1 = its second argument (entry); arg3 = the capture;
 * path = the captured string (BG_UPROBE_STR_MAX bytes at most, NUL included;
 * empty when nothing is captured or it could not be read).
 * Caller: uprobe.bpf.c.
 */
#ifndef BPFGATE_KIND_UPROBE_H
#define BPFGATE_KIND_UPROBE_H

#include "lib/common.h"

#define BG_KIND_UPROBE 15

/* What a uprobe rule captures. MUST MATCH src/kinds/uprobe.ts CAPTURE. */
enum bg_uprobe_capture {
	BG_UPC_NONE = 0,      /* entry: the first two arguments, as numbers */
	BG_UPC_RET_STRING = 1, /* return: the returned char * as a string (readline) */
	BG_UPC_RET_VALUE = 2, /* return: the returned value */
	BG_UPC_PAM = 3,       /* entry: remember the PAM handle; return: the handle's user and the result */
};

/* the captured string, NUL included: the whole of the record's path */
#define BG_UPROBE_STR_MAX BG_EXE_MAX

/*
 * Linux-PAM's struct pam_handle (libpam/pam_private.h) begins with
 *   char *authtok; unsigned caller_is; struct pam_conv *pam_conversation;
 *   char *oldauthtok; char *prompt; char *service_name; char *user; ...
 * unchanged since 2001: the user name pointer is at offset 48 on 64-bit
 * targets. Only the user is read: never authtok.
 */
#define BG_PAM_USER_OFF 48

BG_INLINE int bg_uprobe_decide(struct bg_work *w, __u32 rule_id, __u32 capture, __u64 a0, __u64 a1,
			       const void *str, __u8 mech, __u32 mode)
{
	struct bg_verdict vd;
	struct bg_event *e;

	bg_key_rule(w, BG_KIND_UPROBE, BG_OP_NONE, rule_id, 0, 0, BG_WILD_NONE);
	if (!bg_match(w, BG_KIND_UPROBE, mode))
		return 0;
	vd = bg_act(w, mode);
	if (w->action < BG_ACT_AUDIT)
		return 0;
	/* its values as the target (repeats: bg_repeats); a captured string, read later, is not */
	e = bg_event_new(w, BG_KIND_UPROBE, BG_OP_NONE, mech, &vd, BG_CTX_TASK,
			 bg_target_digest(w, BG_REC_NONE, a0, a1, capture, 0));
	if (!e)
		return 0;
	e->arg[0] = a0;
	e->arg[1] = a1;
	e->arg[3] = capture;
	if (str && bpf_probe_read_user_str(e->path, BG_UPROBE_STR_MAX, str) < 0)
		e->path[0] = 0;
	bg_event_submit(e);
	return 0;
}

#endif /* BPFGATE_KIND_UPROBE_H */
