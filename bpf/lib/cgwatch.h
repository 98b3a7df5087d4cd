/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Cgroups made after a set was applied: exact and * selectors (bpf/lib/abi.h,
 * "Cgroups created after a set was applied"). The cgroup_mkdir tracepoint
 * runs in mkdir(2) on cgroupfs, before the new cgroup can hold a process, so a
 * cgroup a selector matches is in scope from its first process's first
 * instruction: a service restarted (a new cgroup of the same name), a pod
 * started later. Both generations are decided, so that a swap in progress
 * loses nothing. cgroup_rmdir removes what either wrote for a cgroup that ends.
 */
#ifndef BPFGATE_CGWATCH_H
#define BPFGATE_CGWATCH_H

#include "maps.h"

/* bg_scope_cgroup changed: every bg_scope_cache entry is computed again (abi.h) */
BG_INLINE void bg_scope_changed(void)
{
	__u32 k = BG_EPOCH_KERNEL;
	__u64 *e = bpf_map_lookup_elem(&bg_scope_epoch, &k);

	if (e)
		__sync_fetch_and_add(e, 1);
}

/* cgroup v2 only: the default hierarchy has id 0 (v1 hierarchies number their cgroups apart) */
BG_INLINE int bg_cgroup_v2(struct cgroup *cg)
{
	return BPF_CORE_READ(cg, root, hierarchy_id) == 0;
}

/* Does the component name[0..len) match the state's pattern? */
BG_INLINE int bg_glob_match(const struct bg_cgroup_glob *g, const char *name, __u32 len)
{
	__u32 pl = g->prefix_len, sl = g->suffix_len;

	if (pl >= BG_GLOB_PART_MAX || sl >= BG_GLOB_PART_MAX || len >= BG_CGROUP_NAME_MAX)
		return 0;
	if (g->star ? len < pl + sl : len != pl)
		return 0;
	for (__u32 i = 0; i < BG_GLOB_PART_MAX; i++) {
		if (i >= pl)
			break;
		if (name[i & (BG_CGROUP_NAME_MAX - 1)] != g->prefix[i])
			return 0;
	}
	if (!g->star)
		return 1;
	for (__u32 i = 0; i < BG_GLOB_PART_MAX; i++) {
		if (i >= sl)
			break;
		if (name[(len - sl + i) & (BG_CGROUP_NAME_MAX - 1)] != g->suffix[i])
			return 0;
	}
	return 1;
}

/* What the states of one watch entry come to for the new cgroup (bpf_loop over the states). */
struct bg_mkdir_ctx {
	__u16 states[BG_WATCH_STATES];
	__u16 next[BG_WATCH_STATES];
	__u64 self;
	__u64 subtree;
	long len; /* the name's length; < 0: too long to compare, every state matches (fail closed) */
	__u32 n;  /* next states found */
	__u8 gen;
};

static long bg_cgroup_state_cb(__u32 i, void *data)
{
	struct bg_mkdir_ctx *c = data;
	struct bg_id_key gk = { .gen = c->gen };
	struct bg_cgroup_glob *g;
	__u32 zero = 0;
	char *name;

	gk.id = c->states[i & (BG_WATCH_STATES - 1)];
	if (!gk.id)
		return 1;
	g = bpf_map_lookup_elem(&bg_cgroup_glob, &gk);
	if (!g)
		return 0;
	name = bpf_map_lookup_elem(&bg_cgroup_name, &zero);
	if (!name)
		return 1;
	if (c->len >= 0 && !bg_glob_match(g, name, (__u32)c->len))
		return 0;
	c->self |= g->self;
	c->subtree |= g->subtree;
	if (g->next && c->n < BG_WATCH_STATES) {
		c->next[c->n & (BG_WATCH_STATES - 1)] = g->next;
		c->n++;
	}
	return 0;
}

/*
 * The new cgroup `id`, child of `parent`, whose name is in bg_cgroup_name
 * (`len` bytes; < 0: too long to compare), in `gen`.
 */
BG_INLINE void bg_cgroup_made(__u64 parent, __u64 id, __u8 gen, long len)
{
	struct bg_cgroup_key pk = { .cgroup_id = parent, .gen = gen };
	struct bg_cgroup_key k = { .cgroup_id = id, .gen = gen };
	struct bg_cgroup_watch *w = bpf_map_lookup_elem(&bg_cgroup_watch, &pk);
	struct bg_mkdir_ctx c = { .len = len, .gen = gen };
	struct bg_cgroup_watch next = {};
	struct bg_cgroup_val v, *old;

	if (!w)
		return;
	__builtin_memcpy(c.states, w->states, sizeof(c.states));
	bpf_loop(BG_WATCH_STATES, bg_cgroup_state_cb, &c, 0);
	if (c.self | c.subtree) {
		v.self = c.self;
		v.subtree = c.subtree;
		old = bpf_map_lookup_elem(&bg_scope_cgroup, &k);
		if (old) {
			v.self |= old->self;
			v.subtree |= old->subtree;
		}
		if (bpf_map_update_elem(&bg_scope_cgroup, &k, &v, BPF_ANY))
			bg_stat_inc(BG_STAT_CGROUP_SCOPE_FULL);
		bg_scope_changed();
	}
	if (c.n) {
		__builtin_memcpy(next.states, c.next, sizeof(next.states));
		if (bpf_map_update_elem(&bg_cgroup_watch, &k, &next, BPF_ANY))
			bg_stat_inc(BG_STAT_CGROUP_SCOPE_FULL);
	}
}

BG_INLINE void bg_cgroup_mkdir(struct cgroup *cg)
{
	struct cgroup_subsys_state *pcss = BPF_CORE_READ(cg, self.parent);
	__u32 zero = 0;
	char *name = bpf_map_lookup_elem(&bg_cgroup_name, &zero);
	__u64 parent, id;
	long len;

	if (!pcss || !name || !bg_cgroup_v2(cg))
		return;
	parent = BPF_CORE_READ(container_of(pcss, struct cgroup, self), kn, id);
	id = BPF_CORE_READ(cg, kn, id);
	len = bpf_probe_read_kernel_str(name, BG_CGROUP_NAME_MAX, BPF_CORE_READ(cg, kn, name));
	/* bytes with the NUL; the whole buffer: the name may be longer than it */
	len = len > 0 && len < BG_CGROUP_NAME_MAX ? len - 1 : -1;
	bg_cgroup_made(parent, id, 0, len);
	bg_cgroup_made(parent, id, 1, len);
}

BG_INLINE void bg_cgroup_rmdir(struct cgroup *cg)
{
	struct bg_cgroup_key k = { .cgroup_id = BPF_CORE_READ(cg, kn, id) };

	if (!bg_cgroup_v2(cg))
		return;
	for (int gen = 0; gen < 2; gen++) {
		k.gen = gen;
		bpf_map_delete_elem(&bg_scope_cgroup, &k);
		bpf_map_delete_elem(&bg_cgroup_watch, &k);
	}
	bg_scope_changed();
}

#endif
