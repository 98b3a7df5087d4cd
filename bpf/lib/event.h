/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Acting on a decision and reporting it: one struct bg_event per violation
 * (kill, block, audit and their dry-run forms; never for allow) in bg_events.
 * A full ring buffer is counted in bg_stats[BG_STAT_RINGBUF_DROPS]. A process
 * repeating one violation gets bg_repeat_records (16) records a second for it; the
 * other attempts are counted (bg_repeats), and the next record carries the
 * count.
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

/* What bg_report puts in a record's path and aux. */
#define BG_REC_NONE 0x0
#define BG_REC_PATH 0x1  /* w's built path (with BG_EV_F_PATH_TRUNCATED when it was cut) */
#define BG_REC_EXE 0x2   /* the acting executable (kinds whose record has no path of its own) */
#define BG_REC_AUX 0x4   /* w->aux: a second path, a filesystem type, an address */
#define BG_REC_QUIET 0x8 /* report only a denial or a kill (a check the kernel does not audit either) */
#define BG_REC_ANY_TARGET 0x10 /* repeats are the same violation whatever the arguments (bg_repeats) */

/* Records per second of one process's repeats of one violation (bg_repeats);
 * 0: a record for every attempt, nothing counted. Set by the daemon before
 * load (output.kernelRecordsPerSecond). */
const volatile __u32 bg_repeat_records = 16;
#define BG_REPEAT_NS_PER_SEC 1000000000ULL

/* bg_repeat_check's answer for an attempt that is only counted */
#define BG_REPEAT_COUNTED (~0ULL)

/*
 * BG_REPEAT_COUNTED when this attempt is only counted (the process has had
 * bg_repeat_records records for this rule, op, outcome and target this
 * second); else the key's count so far, for the record. who = tgid << 32 |
 * kind << 16 | op << 8 | outcome. A key the full map cannot take is recorded
 * every time. A global function: the verifier checks it once, not again at
 * every decision of a program that reports many kinds.
 */
__noinline __u64 bg_repeat_check(struct bg_work *w, __u64 who, __u64 target, __u64 now)
{
	struct bg_repeat_key k = {};
	struct bg_repeat *r;
	__u64 sec = now / BG_REPEAT_NS_PER_SEC + 1;

	if (!w || !bg_repeat_records)
		return 0;
	k.tgid = who >> 32;
	k.rule_id = w->rule_id;
	k.gen = (__u8)w->gen;
	k.kind = (__u8)(who >> 16);
	k.op = (__u8)(who >> 8);
	k.outcome = (__u8)who;
	k.target = target;
	r = bpf_map_lookup_elem(&bg_repeats, &k);
	if (!r) {
		struct bg_repeat fresh = { .sec = sec, .counted = 0, .in_sec = 1, .pad = 0 };

		bpf_map_update_elem(&bg_repeats, &k, &fresh, BPF_NOEXIST);
		return 0;
	}
	/* two CPUs may both start the second, or read in_sec between the other's add and read:
	 * only which attempts are records varies, never the count */
	if (r->sec != sec) {
		r->sec = sec;
		r->in_sec = 0;
	}
	__sync_fetch_and_add(&r->in_sec, 1);
	if (r->in_sec > bg_repeat_records) {
		__sync_fetch_and_add(&r->counted, 1);
		bg_stat_inc(BG_STAT_REPEATS);
		return BG_REPEAT_COUNTED;
	}
	return r->counted;
}

/* A digest of the last built path in w: its len bytes (NUL included), so that
 * two paths share it only by a 64-bit collision. A global function: the
 * verifier checks its loop once, not again at every decision that calls it. */
__noinline __u64 bg_path_digest(struct bg_work *w)
{
	__u32 base, n;
	__u64 h;

	if (!w)
		return 0;
	base = w->start & BG_BUF_MASK;
	n = w->len;
	h = 0xcbf29ce484222325ULL ^ n;

	if (n > BG_EXE_MAX)
		n = BG_EXE_MAX;
#pragma unroll
	for (__u32 i = 0; i < BG_EXE_MAX / 8; i++) {
		__u64 x;

		if (i * 8 >= n)
			break;
		x = *(__u64 *)&w->buf[base + i * 8];
		if (n - i * 8 < 8)
			x &= (1ULL << ((n - i * 8) * 8)) - 1;
		h = (h ^ x) * 0x100000001b3ULL;
	}
	return h;
}

/* The target of a violation, for bg_repeats: its arguments and, as the record
 * holds them, its path and its aux (an address, a filesystem type). */
BG_INLINE __u64 bg_target_digest(struct bg_work *w, __u32 rec, __u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	__u64 t = a0 * 0x9e3779b97f4a7c15ULL ^ a1 * 0xc2b2ae3d27d4eb4fULL ^ a2 * 0x165667b19e3779f9ULL ^
		  a3 * 0x27d4eb2f165667c5ULL;

	if (rec & BG_REC_PATH)
		t ^= bg_path_digest(w);
	if (rec & BG_REC_AUX)
		t ^= (*(__u64 *)&w->aux[0] * 0xff51afd7ed558ccdULL) ^ (*(__u64 *)&w->aux[8] * 0xc4ceb9fe1a85ec53ULL);
	return t;
}

/* Reserve and fill the common part of a record; NULL when the ring is full or
 * the attempt is only counted (a repeat of the same target, bg_repeat_check). */
BG_INLINE struct bg_event *bg_event_new(struct bg_work *w, __u8 kind, __u8 op, __u8 mech,
					struct bg_verdict *vd, int ctx_flags, __u64 target)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), uid_gid, now = bpf_ktime_get_boot_ns(), counted;
	struct bg_event *e;

	counted = bg_repeat_check(w, (pid_tgid & 0xffffffff00000000ULL) | (__u64)kind << 16 | (__u64)op << 8 | vd->outcome,
				  target, now);
	if (counted == BG_REPEAT_COUNTED)
		return 0;
	e = bpf_ringbuf_reserve(&bg_events, sizeof(*e), 0);
	if (!e) {
		bg_stat_inc(BG_STAT_RINGBUF_DROPS);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	uid_gid = bpf_get_current_uid_gid();
	e->ts_ns = now;
	e->repeats = counted;
	e->target = target;
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

/*
 * The reader is woken by the record that takes what waits in the ring past
 * BG_RINGBUF_WAKE_BYTES; below that mark nobody is woken, and the daemon takes
 * the records on its own every 25 ms (src/kernel/binding/ringbuf.ts, drainMs).
 * A wake-up is an interrupt the producing CPU raises on itself (irq_work):
 * measured on this project's VM, 20 us of the acting process's time per
 * record when every record woke the reader (the exec tracepoint's record went
 * from 23 us to 3 us without it).
 */
#define BG_RINGBUF_WAKE_BYTES (BG_RINGBUF_BYTES / 16)
#define BG_RINGBUF_REC_BYTES (sizeof(struct bg_event) + 8) /* with the ring's header */

/* Not inlined: its signature also puts struct bg_event into the object's BTF,
 * where the layout test reads it. */
BG_NOINLINE void bg_event_submit(struct bg_event *e)
{
	/* what waits, this record included (its reservation moved the producer) */
	__u64 avail = bpf_ringbuf_query(&bg_events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, avail >= BG_RINGBUF_WAKE_BYTES && avail < BG_RINGBUF_WAKE_BYTES + BG_RINGBUF_REC_BYTES
				      ? BPF_RB_FORCE_WAKEUP
				      : BPF_RB_NO_WAKEUP);
	bg_stat_inc(BG_STAT_EVENTS);
}


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
	e = bg_event_new(w, kind, op, mech, &vd, BG_CTX_TASK,
			 (rec & BG_REC_ANY_TARGET) ? 0 : bg_target_digest(w, rec, a0, a1, a2, a3));
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
