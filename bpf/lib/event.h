/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Acting on a decision and reporting it: one struct bg_event per violation
 * (kill, block, audit and their dry-run forms; never for allow) in bg_events.
 * A full ring buffer is counted in bg_stats[BG_STAT_RINGBUF_DROPS].
 *
 * For kinds whose record has no path of its own (capability, bpf, ptrace,
 * setuid, socket, device), path holds the acting executable, best effort
 * (BG_EV_F_EXE_PATH when it does, BG_EV_F_EXE_UNKNOWN when it could not be
 * read): the executable as the kernel knows it at the decision, which the
 * process cannot change afterwards.
 */
#ifndef BPFGATE_EVENT_H
#define BPFGATE_EVENT_H

#include "maps.h"
#include "match.h"
#include "path.h"
#include "scope.h"

struct bg_verdict {
	__s32 ret;      /* for the caller: 0 or -EPERM */
	__u8 outcome;   /* enum bg_outcome */
	__u8 deny;      /* the caller must refuse */
	__u8 killed;    /* SIGKILL was sent */
};

/* Apply w's decision with what the program can do (mode: BG_CAN_*). */
BG_INLINE struct bg_verdict bg_act(struct bg_work *w, __u32 mode)
{
	struct bg_verdict vd = { .ret = 0, .outcome = BG_OUT_ALLOWED, .deny = 0, .killed = 0 };
	int dry = w->flags & BG_VAL_F_DRYRUN;

	switch (w->action) {
	case BG_ACT_KILL:
		if (dry) {
			/* what enforcing would do here: a program that cannot kill would deny */
			if (!(mode & BG_CAN_KILL))
				vd.outcome = (mode & BG_CAN_DENY) ? BG_OUT_WOULD_BLOCK : BG_OUT_ALLOWED;
			else
				vd.outcome = (mode & BG_KILL_AFTER) ? BG_OUT_WOULD_KILL_AFTER : BG_OUT_WOULD_KILL;
			break;
		}
		if (mode & BG_CAN_KILL) {
			bpf_send_signal(SIGKILL);
			vd.killed = 1;
			vd.outcome = (mode & BG_KILL_AFTER) ? BG_OUT_KILLED_AFTER : BG_OUT_KILLED;
			bg_stat_inc(BG_STAT_KILLED);
			if (mode & BG_CAN_DENY) {
				vd.deny = 1;
				vd.ret = -EPERM;
			}
		} else if (mode & BG_CAN_DENY) {
			vd.outcome = BG_OUT_DENIED;
			vd.deny = 1;
			vd.ret = -EPERM;
			bg_stat_inc(BG_STAT_DENIED);
		}
		break;
	case BG_ACT_BLOCK:
		if (dry) {
			vd.outcome = BG_OUT_WOULD_BLOCK;
			break;
		}
		if (mode & BG_CAN_DENY) {
			vd.outcome = BG_OUT_DENIED;
			vd.deny = 1;
			vd.ret = -EPERM;
			bg_stat_inc(BG_STAT_DENIED);
		}
		break;
	}
	return vd;
}

/* Reserve and fill the common part of a record; NULL when the ring is full. */
BG_INLINE struct bg_event *bg_event_new(struct bg_work *w, __u8 kind, __u8 op, __u8 mech,
					struct bg_verdict *vd, int ctx_flags)
{
	struct bg_event *e = bpf_ringbuf_reserve(&bg_events, sizeof(*e), 0);
	__u64 pid_tgid, uid_gid;

	if (!e) {
		bg_stat_inc(BG_STAT_RINGBUF_DROPS);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	pid_tgid = bpf_get_current_pid_tgid();
	uid_gid = bpf_get_current_uid_gid();
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = w->cgroup_id;
	e->rule_id = w->rule_id;
	e->pid = (__u32)pid_tgid;
	e->tgid = pid_tgid >> 32;
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	e->euid = e->uid;
	e->ret = vd->ret;
	e->kind = kind;
	e->action = w->action;
	e->mechanism = mech;
	e->op = op;
	e->outcome = vd->outcome;
	e->slot = w->slot;
	e->exe_id = w->exe_id;
	e->gen = (__u8)w->gen;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (ctx_flags & BG_CTX_TASK) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();

		e->ppid = BPF_CORE_READ(task, real_parent, tgid);
		e->euid = BPF_CORE_READ(task, cred, euid.val);
	}
	return e;
}

/* The record's path from the last built path in w. */
BG_INLINE void bg_event_path(struct bg_work *w, struct bg_event *e)
{
	bg_path_copy(w, e->path);
	e->flags |= w->truncated & (BG_EV_F_PATH_TRUNCATED | BG_EV_F_UNRESOLVED);
}

/* The acting executable's path into e->path (kinds without a path of their own). */
BG_INLINE void bg_event_exe(struct bg_work *w, struct bg_event *e, int ctx_flags)
{
	if (ctx_flags & BG_CTX_TASK) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		struct file *f = BPF_CORE_READ(task, mm, exe_file);

		if (f) {
			bg_path_reset(w);
			if (bg_path_walk(w, BPF_CORE_READ(f, f_path.mnt), BPF_CORE_READ(f, f_path.dentry))) {
				bg_path_copy(w, e->path);
				e->flags |= BG_EV_F_EXE_PATH;
				return;
			}
		}
	}
	e->flags |= BG_EV_F_EXE_UNKNOWN;
}

/* Not inlined: its signature also puts struct bg_event into the object's BTF,
 * where the layout test reads it. */
BG_NOINLINE void bg_event_submit(struct bg_event *e)
{
	bpf_ringbuf_submit(e, 0);
	bg_stat_inc(BG_STAT_EVENTS);
}

/* What bg_report puts in a record's path and aux. */
#define BG_REC_NONE 0x0
#define BG_REC_PATH 0x1  /* w's built path (with BG_EV_F_PATH_TRUNCATED when it was cut) */
#define BG_REC_EXE 0x2   /* the acting executable (kinds whose record has no path of its own) */
#define BG_REC_AUX 0x4   /* w->aux: a second path, a filesystem type, an address */
#define BG_REC_QUIET 0x8 /* report only a denial or a kill (a check the kernel does not audit either) */

/*
 * The end of every decision function: act on w's decision with what the
 * calling program can do (mode: BG_CAN_*, BG_NO_BLOCK) and report it as its
 * mechanism (mech: BG_MECH_*), one record per violation (never for allow),
 * arg[] = a0..a3. Returns what a hook returns to its caller: 0, or -EPERM
 * when it must refuse.
 */
BG_INLINE int bg_report(struct bg_work *w, __u8 kind, __u8 op, __u8 mech, __u32 mode, __u32 rec, __u64 a0,
			__u64 a1, __u64 a2, __u64 a3)
{
	struct bg_verdict vd = bg_act(w, mode);
	struct bg_event *e;

	if (w->action < BG_ACT_AUDIT)
		return vd.ret;
	if ((rec & BG_REC_QUIET) && !vd.deny && !vd.killed)
		return vd.ret;
	e = bg_event_new(w, kind, op, mech, &vd, BG_CTX_TASK);
	if (!e)
		return vd.ret;
	e->arg[0] = a0;
	e->arg[1] = a1;
	e->arg[2] = a2;
	e->arg[3] = a3;
	if (rec & BG_REC_PATH)
		bg_event_path(w, e);
	else if (rec & BG_REC_EXE)
		bg_event_exe(w, e, BG_CTX_TASK);
	if (rec & BG_REC_AUX) {
		bpf_probe_read_kernel(e->aux, sizeof(e->aux), w->aux);
		e->aux[BG_AUX_MAX - 1] = 0;
	}
	bg_event_submit(e);
	return vd.ret;
}

#endif /* BPFGATE_EVENT_H */
