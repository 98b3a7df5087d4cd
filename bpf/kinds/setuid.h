/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * setuid: changes of the task's identity. MUST MATCH src/kinds/setuid.ts.
 *
 * Keys (bg_rules): one pair of ops per identity (`ids:` in the policy), the
 * "root" op (a change to root) and the "any" op (every change); both are
 * looked up for a change to root:
 *   uid           BG_OP_SETUID_ROOT / _ANY           any of uid, euid, suid, fsuid becomes 0
 *   gid           BG_OP_SETUID_GID_ROOT / _ANY    any of gid, egid, sgid, fsgid becomes 0
 *   groups        BG_OP_SETUID_GROUPS_ROOT / _ANY    group 0 joins the supplementary groups
 *   capabilities  BG_OP_SETUID_CAPABILITIES_ROOT / _ANY      capset: a bit new in effective or permitted
 *   userns        BG_OP_SETUID_USERNS_ROOT / _ANY    a new user namespace (its creator holds every
 *                                             capability inside it): always "to root"
 * The record: path = the acting executable; bit 63 of arg0 set when the
 * change gives root (BG_SETID_TO_ROOT, security hooks only);
 *   uid, gid: arg0 = the old real id, arg1 = the new real id, arg2 = the new
 *     effective id, arg3 = ~new saved id | ~new fs id << 32 (complemented: the
 *     sys_enter record, which does not know them, has 0 there);
 *   groups: arg0 = the old count, arg1 = the new count, arg2 = 1 when group 0
 *     is among the new groups;
 *   capabilities: arg0 = old effective, arg1 = new effective, arg2 = old
 *     permitted, arg3 = new permitted (bit n = capability n);
 *   userns: arg0 = the creator's euid.
 * Callers: lsm/task_fix_setuid, task_fix_setgid, task_fix_setgroups, capset,
 * userns_create (lib/security.h), and raw_tracepoint/sys_enter for uid only
 * (setuid, setreuid, setresuid: bg_setuid_decide).
 */
#ifndef BPFGATE_KIND_SETUID_H
#define BPFGATE_KIND_SETUID_H

#include "lib/common.h"

#define BG_KIND_SETUID 8

enum bg_setuid_op {
	BG_OP_SETUID_ROOT = 1,
	BG_OP_SETUID_ANY = 2,
	BG_OP_SETUID_GID_ROOT = 3,
	BG_OP_SETUID_GID_ANY = 4,
	BG_OP_SETUID_GROUPS_ROOT = 5,
	BG_OP_SETUID_GROUPS_ANY = 6,
	BG_OP_SETUID_CAPABILITIES_ROOT = 7,
	BG_OP_SETUID_CAPABILITIES_ANY = 8,
	BG_OP_SETUID_USERNS_ROOT = 9,
	BG_OP_SETUID_USERNS_ANY = 10,
};

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

/* bit 63 of a record's arg0: the kernel decided that the change gives root */
#define BG_SETID_TO_ROOT (1ULL << 63)

/*
 * The security hooks' decision: a change of one identity, whose "root" op is
 * root_op (its "any" op is root_op + 1); to_root: the change is one to root.
 */
BG_INLINE int bg_setid_decide(struct bg_work *w, __u8 root_op, int to_root, __u64 a0, __u64 a1, __u64 a2,
			      __u64 a3, __u8 mech, __u32 mode)
{
	struct bg_best best = {};

	if (to_root) {
		bg_key_rule(w, BG_KIND_SETUID, root_op, 0, 0, 0, BG_WILD_NONE);
		bg_match(w, BG_KIND_SETUID, mode);
		bg_best_take(w, &best, root_op, 0);
	}
	bg_key_rule(w, BG_KIND_SETUID, root_op + 1, 0, 0, 0, BG_WILD_NONE);
	bg_match(w, BG_KIND_SETUID, mode);
	bg_best_take(w, &best, root_op + 1, 0);
	if (!best.rank)
		return 0;
	bg_best_apply(w, &best);
	return bg_report(w, BG_KIND_SETUID, best.op, mech, mode, BG_REC_EXE, a0 | (to_root ? BG_SETID_TO_ROOT : 0),
			 a1, a2, a3);
}

/* One id of four (real, effective, saved, fs) becomes 0 when it was not. */
#define BG_BECOMES_ROOT(o, n) ((o) != 0 && (n) == 0)

#endif /* BPFGATE_KIND_SETUID_H */
