/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * exec: program execution. MUST MATCH src/kinds/exec.ts.
 *
 * Keys (bg_path_rules): op BG_OP_NONE, the executable's path (exact or a
 * directory prefix), and BG_PATH_FILELESS_KEY for `fileless: true`. The
 * record: op = how it came to run (BG_EXEC_VIA_*), path = the file as
 * exec'd or mapped, arg[0] = BG_EXEC_F_FILELESS.
 * Callers: lsm/bprm_check_security (deny before the new program runs),
 * lsm/mmap_file and lsm/file_mprotect (deny the executable mapping: the
 * dynamic loader run on the file, a loader of the intruder's own) and
 * tp_btf/sched_process_exec (kill before its first instruction).
 * A path the program could not build is matched as the unresolved key (file.h).
 */
#ifndef BPFGATE_KIND_EXEC_H
#define BPFGATE_KIND_EXEC_H

#include "lib/common.h"

#define BG_KIND_EXEC 1

/* How the file came to run: the record's op (src/kinds/exec.ts EXEC_VIA). */
#define BG_EXEC_VIA_EXEC 0     /* execve, execveat, fexecve; a script's interpreter too */
#define BG_EXEC_VIA_MMAP 1     /* mapped executable: mmap with PROT_EXEC (the dynamic loader, a loader of its own) */
#define BG_EXEC_VIA_MPROTECT 2 /* made executable: mprotect adding PROT_EXEC to a file's mapping */

/* The record's arg[0]: the file has no name in any file system. */
#define BG_EXEC_F_FILELESS 0x1

#define BG_PROT_EXEC 0x4
#define BG_VM_EXEC 0x4

/*
 * Fileless: a file with no name in any mounted file system, decided on the
 * inode's link count, never on the name the kernel shows: a memfd
 * (memfd_create clears it, hugetlbfs ones too), an O_TMPFILE file never
 * linked, a binary deleted while open (and SysV shared memory).
 */
BG_INLINE __u64 bg_exec_fileless(struct file *file)
{
	return file && BPF_CORE_READ(file, f_inode, i_nlink) == 0 ? BG_EXEC_F_FILELESS : 0;
}

/* The key of a fileless file: the target BG_PATH_FILELESS_KEY, exact (set after bg_key_path). */
BG_INLINE void bg_path_key_fileless(struct bg_path_key *k)
{
	k->prefixlen = 32 + 8 * BG_PATH_MAX;
	k->path[0] = BG_PATH_FILELESS_KEY;
	k->path[1] = 0;
}

/*
 * One attempt, one event, in dry runs too. An exec a dry run reports as
 * would-block or would-kill fails (or its program dies) once enforced, so what
 * that process and its children do afterwards would not happen: a shell that
 * execs a shell (`sh -c 'exec sh'`, awk's system()) is one attempt. The
 * reporting process is marked with the rule (and the generation, and its start
 * time: a recycled pid is not the same process); a later would-block or
 * would-kill exec of the same rule by it or by a descendant up to
 * BG_SHADOW_DEPTH parents below it is counted (BG_STAT_AUDIT_FOLLOWUPS), not
 * recorded. Enforcing rules and audit rules are never shadowed.
 */
#define BG_SHADOW_DEPTH 4

struct bg_exec_shadow_val {
	__u64 mark;  /* gen << 32 | rule id */
	__u64 start; /* the process's start time (its leader's) */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BG_TASKS_MAX);
	__type(key, __u32); /* tgid */
	__type(value, struct bg_exec_shadow_val);
} bg_exec_shadow SEC(".maps");

BG_INLINE __u64 bg_task_start(struct task_struct *t)
{
	return BPF_CORE_READ(t, group_leader, start_time);
}

/* A dry-run block or kill: 1 when a report of the same rule is above (counted), else marks the process and 0. */
BG_INLINE int bg_exec_shadowed(struct bg_work *w)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct bg_exec_shadow_val v = { .mark = ((__u64)w->gen << 32) | w->rule_id };
	struct bg_exec_shadow_val *got;
	__u32 tgid;

	if (!(w->flags & BG_VAL_F_DRYRUN) || (w->action != BG_ACT_BLOCK && w->action != BG_ACT_KILL))
		return 0;
	for (int i = 0; i < BG_SHADOW_DEPTH && t; i++) {
		tgid = BPF_CORE_READ(t, tgid);
		got = bpf_map_lookup_elem(&bg_exec_shadow, &tgid);
		if (got && got->mark == v.mark && got->start == bg_task_start(t)) {
			bg_stat_inc(BG_STAT_AUDIT_FOLLOWUPS);
			return 1;
		}
		t = BPF_CORE_READ(t, real_parent);
	}
	t = (struct task_struct *)bpf_get_current_task();
	tgid = BPF_CORE_READ(t, tgid);
	v.start = bg_task_start(t);
	bpf_map_update_elem(&bg_exec_shadow, &tgid, &v, BPF_ANY);
	return 0;
}

/*
 * The executed (or mapped) file's path is w's built path (the caller built it
 * from the kernel's file). A fileless file is looked up under its path and
 * under the fileless key; the stronger decision is reported, once.
 */
BG_INLINE int bg_exec_decide(struct bg_work *w, struct file *file, __u8 via, __u8 mech, __u32 mode)
{
	__u64 fileless = bg_exec_fileless(file);
	struct bg_best best = {};

	if (bg_path_unresolved(w))
		bg_path_key_unresolved(&w->pkey);
	else
		bg_path_to_key(w, &w->pkey);
	bg_key_path(w, BG_KIND_EXEC, BG_OP_NONE);
	bg_match(w, BG_KIND_EXEC, mode);
	bg_best_take(w, &best, via, 0);
	if (fileless) {
		bg_path_key_fileless(&w->pkey);
		bg_match(w, BG_KIND_EXEC, mode);
		bg_best_take(w, &best, via, 1);
	}
	if (!best.rank)
		return 0;
	bg_best_apply(w, &best);
	if (bg_exec_shadowed(w))
		return 0;
	return bg_report(w, BG_KIND_EXEC, via, mech, mode, BG_REC_PATH, fileless, 0, 0, 0);
}

#endif /* BPFGATE_KIND_EXEC_H */
