/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Scope: which policy slots apply to the current process. A constant number of
 * lookups, whatever the number of rules:
 *   cgroup   bg_scope_cgroup[own id].self | .subtree, | .subtree of each
 *            ancestor (at most BG_CGROUP_DEPTH_MAX; deeper: the last is
 *            BG_CGROUP_ID_UNRESOLVED), | any_cgroup
 *   uid      bg_scope_uid[uid] | any_uid (the real uid)
 *   euid     bg_scope_euid[euid] | any_euid (the effective uid, read only when a slot names one)
 *   exe      bg_scope_exe[bg_task_exe[tgid]] | any_exe (BG_EXE_ID_UNRESOLVED: every
 *            executable-scoped slot)
 *   pid ns   host_only slots drop out in a container, containers_only on the host
 *            (the acting task's own pid namespace)
 * and nothing at all for bpfgate's own process (bg_state.daemon_tgid, while
 * its start time is bg_state.daemon_start: never a later process given its pid).
 */
#ifndef BPFGATE_SCOPE_H
#define BPFGATE_SCOPE_H

#include "maps.h"

/* What the calling program can read. */
#define BG_CTX_TASK 0x1 /* bpf_get_current_task() and kernel reads */

BG_INLINE struct bg_gen_config *bg_config(struct bg_work *w, struct bg_state **statep)
{
	__u32 zero = 0, gen;
	struct bg_state *st = bpf_map_lookup_elem(&bg_state, &zero);

	if (!st)
		return 0;
	*statep = st;
	gen = st->active_gen & 1;
	w->gen = gen;
	return bpf_map_lookup_elem(&bg_gen_config, &gen);
}

/*
 * Is tgid bpfgate's own running process? Its pid and the start time of its
 * thread group leader, in the clock ticks /proc/<pid>/stat shows
 * (start_boottime / 10 ms): the daemon wrote the state long after it started,
 * so a process that gets its pid after it ended starts in a later tick.
 */
BG_INLINE int bg_is_daemon(const struct bg_state *st, __u32 tgid)
{
	struct task_struct *t;
	__u64 start;

	if (!st->daemon_tgid || tgid != st->daemon_tgid)
		return 0;
	t = (struct task_struct *)bpf_get_current_task();
	start = BPF_CORE_READ(t, group_leader, start_boottime);
	return (__u32)(start / 10000000ULL) == st->daemon_start;
}

BG_INLINE __u64 bg_cgroup_mask(struct bg_work *w, __u64 id, int self)
{
	struct bg_cgroup_key k = { .cgroup_id = id, .gen = (__u8)w->gen };
	struct bg_cgroup_val *v = bpf_map_lookup_elem(&bg_scope_cgroup, &k);

	if (!v)
		return 0;
	return self ? (v->self | v->subtree) : v->subtree;
}

/* Fill w->cgroup_ids with the current cgroup and its ancestors (v2 hierarchy). */
BG_INLINE void bg_cgroup_chain(struct bg_work *w)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);

	w->cgroup_ids[0] = w->cgroup_id;
	w->ncgroups = 1;
	for (int i = 1; i < BG_CGROUP_DEPTH_MAX; i++) {
		struct cgroup_subsys_state *pcss;

		if (!cg)
			break;
		pcss = BPF_CORE_READ(cg, self.parent);
		if (!pcss)
			break;
		cg = container_of(pcss, struct cgroup, self);
		w->cgroup_ids[i & (BG_CGROUP_DEPTH_MAX - 1)] = BPF_CORE_READ(cg, kn, id);
		w->ncgroups = i + 1;
	}
	/* deeper than the walk: the ancestors above are unknown, so the last entry
	 * says so (bg_scope_cgroup puts every cgroup-scoped slot under it: fail closed) */
	if (cg && w->ncgroups == BG_CGROUP_DEPTH_MAX && BPF_CORE_READ(cg, self.parent))
		w->cgroup_ids[BG_CGROUP_DEPTH_MAX - 1] = BG_CGROUP_ID_UNRESOLVED;
}

BG_INLINE __u64 bg_scope_epoch_of(__u32 which)
{
	__u64 *e = bpf_map_lookup_elem(&bg_scope_epoch, &which);

	return e ? *e : 0;
}

/* The epochs now, read before anything an entry is computed from. */
struct bg_scope_epochs {
	__u64 daemon;
	__u64 kernel;
};

BG_INLINE struct bg_scope_epochs bg_scope_epochs_now(void)
{
	struct bg_scope_epochs e = {
		.daemon = bg_scope_epoch_of(BG_EPOCH_DAEMON),
		.kernel = bg_scope_epoch_of(BG_EPOCH_KERNEL),
	};

	return e;
}

/* bg_scope_cache's entry for cgroup id when it is current (generation gen, epochs e): the chain
 * into w, its slots returned in *mask. 0 when there is none (compute, then bg_scope_cache_put). */
BG_INLINE int bg_scope_cached(struct bg_work *w, __u64 id, struct bg_scope_epochs e, __u64 *mask)
{
	struct bg_scope_cache_val *c = bpf_map_lookup_elem(&bg_scope_cache, &id);

	if (!c || c->gen != w->gen || c->epoch_daemon != e.daemon || c->epoch_kernel != e.kernel ||
	    c->n < 1 || c->n > BG_CGROUP_DEPTH_MAX)
		return 0;
	__builtin_memcpy(w->cgroup_ids, c->ids, sizeof(w->cgroup_ids));
	w->ncgroups = c->n;
	*mask = c->mask;
	return 1;
}

/* Cache w's chain and its slots for w->cgroup_id under the epochs read before they were computed.
 * The value is built on the stack: Debian 6.1's verifier takes no other memory for it here. */
BG_INLINE void bg_scope_cache_put(struct bg_work *w, __u64 mask, struct bg_scope_epochs e)
{
	__u64 id = w->cgroup_id;
	struct bg_scope_cache_val v = {
		.mask = mask,
		.epoch_daemon = e.daemon,
		.epoch_kernel = e.kernel,
		.gen = w->gen,
		.n = w->ncgroups,
	};

	__builtin_memcpy(v.ids, w->cgroup_ids, sizeof(v.ids));
	bpf_map_update_elem(&bg_scope_cache, &id, &v, BPF_ANY);
}

/*
 * The cgroup part of the scope: w->cgroup_id, the chain w->cgroup_ids and the
 * slots bg_scope_cgroup gives it under w->gen (cfg->any_cgroup not included).
 * From bg_scope_cache when its entry for the cgroup is current (abi.h), else
 * walked and looked up, then cached. The epochs are read before the walk: a
 * set written during it leaves an entry of the old epoch, never used again.
 * A global function: the verifier checks the walk once, not in every program
 * that decides.
 */
__noinline __u64 bg_scope_cgroups(struct bg_work *w)
{
	struct bg_scope_epochs e = bg_scope_epochs_now();
	__u64 mask = 0;

	if (!w) /* never: callers pass their scratch entry; every slot, so that nothing fails open */
		return ~0ULL;
	w->cgroup_id = bpf_get_current_cgroup_id();
	if (bg_scope_cached(w, w->cgroup_id, e, &mask))
		return mask;

	bg_cgroup_chain(w);
	mask = bg_cgroup_mask(w, w->cgroup_id, 1);
	for (int i = 1; i < BG_CGROUP_DEPTH_MAX; i++) {
		if (i >= w->ncgroups)
			break;
		mask |= bg_cgroup_mask(w, w->cgroup_ids[i & (BG_CGROUP_DEPTH_MAX - 1)], 0);
	}
	bg_scope_cache_put(w, mask, e);
	return mask;
}

/*
 * The pid namespace the current task lives in (task_active_pid_ns: the
 * namespace of its pid's deepest level), not nsproxy->pid_ns_for_children,
 * which unshare(CLONE_NEWPID) changes for the caller's future children
 * without moving the caller. 0 when it cannot be read.
 */
BG_INLINE __u32 bg_task_pidns_inum(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	struct pid_namespace *ns = 0;
	__u32 level;

	if (!pid)
		return 0;
	level = BPF_CORE_READ(pid, level);
	if (level > 32) /* MAX_PID_NS_LEVEL */
		return 0;
	bpf_probe_read_kernel(&ns, sizeof(ns),
			      (void *)pid + bpf_core_field_offset(struct pid, numbers) +
				      level * bpf_core_type_size(struct upid) +
				      bpf_core_field_offset(struct upid, ns));
	return ns ? BPF_CORE_READ(ns, ns.inum) : 0;
}

/*
 * Compute w->scope and the subject fields (uid, exe id, cgroup chain) of the
 * current task: every caller runs in the context of the task that acts (the
 * cgroup part, the effective uid and the pid namespace are read from it).
 * Returns the slots that may apply (0: nothing to do).
 */
BG_INLINE __u64 bg_scope(struct bg_work *w, struct bg_gen_config **cfgp)
{
	struct bg_state *st = 0;
	struct bg_gen_config *cfg = bg_config(w, &st);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 scope, cgmask, uidmask, exemask, *m;
	__u32 *exe;

	w->scope = 0;
	w->exe_id = 0;
	w->ifindex = 0;
	w->uid = (__u32)bpf_get_current_uid_gid();
	if (!cfg || !st)
		return 0;
	*cfgp = cfg;
	if (bg_is_daemon(st, tgid))
		return 0;
	scope = cfg->active_slots;
	if (!scope)
		return 0;

	exe = bpf_map_lookup_elem(&bg_task_exe, &tgid);
	if (exe)
		w->exe_id = *exe;

	cgmask = cfg->any_cgroup | bg_scope_cgroups(w);

	struct bg_id_key ik = { .id = w->uid, .gen = (__u8)w->gen };
	uidmask = cfg->any_uid;
	m = bpf_map_lookup_elem(&bg_scope_uid, &ik);
	if (m)
		uidmask |= *m;
	/* the effective uid only where a slot in scope names one (a task read) */
	if (~cfg->any_euid & scope) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		struct bg_id_key ek = { .gen = (__u8)w->gen };

		ek.id = BPF_CORE_READ(task, cred, euid.val);
		m = bpf_map_lookup_elem(&bg_scope_euid, &ek);
		uidmask &= cfg->any_euid | (m ? *m : 0);
	}

	exemask = cfg->any_exe;
	if (w->exe_id) {
		ik.id = w->exe_id;
		m = bpf_map_lookup_elem(&bg_scope_exe, &ik);
		if (m)
			exemask |= *m;
	}

	scope &= cgmask & uidmask & exemask;

	if (cfg->host_only | cfg->containers_only) {
		__u32 inum = bg_task_pidns_inum();

		/* unreadable (0): both kinds of slot stay, a block rule fails closed */
		if (!inum)
			;
		else if (inum == st->host_pidns_inum)
			scope &= ~cfg->containers_only;
		else
			scope &= ~cfg->host_only;
	}

	w->scope = scope;
	return scope;
}

/*
 * Enter a decision: the scratch entry of this nesting level (BG_HEAP_MAIN, or
 * BG_HEAP_NESTED for programs that can run inside another's decision) and the
 * process's scope. NULL when no slot in scope has rules of `kind` (0: any
 * kind; the caller checks its kind later).
 */
BG_INLINE struct bg_work *bg_enter(__u32 level, __u32 kind)
{
	struct bg_work *w = bg_work_get(level);
	struct bg_gen_config *cfg = 0;

	if (!w || !bg_scope(w, &cfg) || !cfg)
		return 0;
	if (kind && !(w->scope & cfg->kind_slots[kind & (BG_KIND_MAX - 1)]))
		return 0;
	return w;
}

#endif /* BPFGATE_SCOPE_H */
