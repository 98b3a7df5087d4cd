/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * setuid: changes of user id. MUST MATCH src/kinds/setuid.ts.
 *
 * Keys (bg_rules): op BG_OP_SETUID_ROOT (a change to uid 0) or
 * BG_OP_SETUID_ANY (any change); both are looked up for a change to root.
 * The record: arg0 = the old uid, arg1 = the new uid, arg2 = the new euid;
 * path = the acting executable.
 * Callers: lsm/task_fix_setuid and raw_tracepoint/sys_enter (setuid,
 * setreuid, setresuid).
 */
#ifndef BPFGATE_KIND_SETUID_H
#define BPFGATE_KIND_SETUID_H

#include "lib/common.h"

#define BG_KIND_SETUID 8

enum bg_setuid_op { BG_OP_SETUID_ROOT = 1, BG_OP_SETUID_ANY = 2 };

/* From uid old to (uid, euid, suid); BG_ANY for an id the call leaves as it is. */
BG_INLINE int bg_setuid_decide(struct bg_work *w, __u32 old, __u32 uid, __u32 euid,
			       __u32 suid, __u8 mech, __u32 mode)
{
	struct bg_best best = {};

	if (old != 0 && (uid == 0 || euid == 0 || suid == 0)) {
		bg_key_rule(w, BG_KIND_SETUID, BG_OP_SETUID_ROOT, 0, 0, 0, BG_WILD_NONE);
		bg_match(w, BG_KIND_SETUID, mode);
		bg_best_take(w, &best, BG_OP_SETUID_ROOT, 0);
	}
	bg_key_rule(w, BG_KIND_SETUID, BG_OP_SETUID_ANY, 0, 0, 0, BG_WILD_NONE);
	bg_match(w, BG_KIND_SETUID, mode);
	bg_best_take(w, &best, BG_OP_SETUID_ANY, 0);
	if (!best.rank)
		return 0;
	bg_best_apply(w, &best);
	return bg_report(w, BG_KIND_SETUID, best.op, mech, mode, BG_REC_EXE, old, uid, euid, 0);
}

#endif /* BPFGATE_KIND_SETUID_H */
