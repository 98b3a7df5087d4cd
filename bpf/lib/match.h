/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Matching: one lookup (plus its wildcard fallbacks) per policy slot set in
 * (scope & kind_slots[kind]), at most BG_MAX_SLOTS iterations of bpf_loop,
 * whatever the number of rules. The caller fills the key of its table in
 * bg_work (gen, kind, op, target); the loop sets the slot byte.
 *
 *   BG_TABLE_PATH  bg_path_rules (LPM)  w->pkey
 *   BG_TABLE_RULES bg_rules (hash)      w->rkey, wildcard order per w->wild
 *   BG_TABLE_NET   bg_net_rules (LPM)   w->nkey, (proto, port), (proto, 0),
 *                                       (0, port), (0, 0)
 *
 * A hit names a rule id; an exception of that rule for the process (exe id,
 * uid, cgroup, cgroup subtree) cancels it. A miss in a default-block slot is a
 * hit of rule BG_RULE_DEFAULT | slot with the slot's default action.
 *
 * When several slots hit, the strongest result decides and is reported:
 * kill > block > would-kill > would-block > audit > allow (lowest slot on a tie).
 */
#ifndef BPFGATE_MATCH_H
#define BPFGATE_MATCH_H

#include "maps.h"

enum bg_table {
	BG_TABLE_PATH = 1,
	BG_TABLE_RULES = 2,
	BG_TABLE_NET = 3,
};

/* Wildcard fallbacks for bg_rules, after the exact key. */
enum bg_wild {
	BG_WILD_NONE = 0,
	BG_WILD_A = 1,  /* then a = ANY                    (bpf, mount) */
	BG_WILD_B = 2,  /* then b = ANY, then a = b = ANY   (socket) */
	BG_WILD_C = 3,  /* then c = ANY, then b = c = ANY   (device) */
};

/* Mechanism classes: what the calling program can enforce. */
#define BG_CAN_DENY 0x1
#define BG_CAN_KILL 0x2
#define BG_NO_BLOCK 0x4 /* a BLOCK value is not this program's to act on (tracepoint, kprobe) */
#define BG_KILL_AFTER 0x8 /* its kill lands after the system call completed (sys_enter): killed-after */
#define BG_CAN_DPATH 0x10 /* its hook is on the kernel's bpf_d_path allow-list for its program type */
#define BG_NO_DEFAULT 0x20 /* a miss is a miss: the allowlists' posture does not apply (executable mappings); bit 5 */
#define BG_NO_TASK 0x40 /* no acting task to read (packets: tc, XDP, cgroup_skb): no effective-uid exception */

struct bg_loop_ctx {
	struct bg_work *w;
	struct bg_gen_config *cfg;
	__u64 mask;
	__u32 kind;
	__u32 mode; /* BG_CAN_* | BG_NO_BLOCK | BG_NO_DEFAULT | BG_NO_TASK */
};

BG_INLINE __u8 bg_rank(__u8 action, __u8 flags)
{
	int dry = flags & BG_VAL_F_DRYRUN;

	switch (action) {
	case BG_ACT_ALLOW:
		return 1;
	case BG_ACT_AUDIT:
		return 2;
	case BG_ACT_BLOCK:
		return dry ? 3 : 5;
	case BG_ACT_KILL:
		return dry ? 4 : 6;
	}
	return 0;
}

BG_INLINE int bg_exc_hit(struct bg_exception_key *k, __u8 type, __u64 value)
{
	k->type = type;
	k->value = value;
	return bpf_map_lookup_elem(&bg_exceptions, k) != 0;
}

/* Is the process excepted from rule_id (whose value's flags are `flags`)? */
BG_INLINE int bg_excepted(struct bg_work *w, __u32 rule_id, __u8 flags, __u32 mode)
{
	struct bg_exception_key k = { .rule_id = rule_id, .gen = (__u8)w->gen };

	if (w->exe_id && bg_exc_hit(&k, BG_EXC_EXE, w->exe_id))
		return 1;
	if (bg_exc_hit(&k, BG_EXC_UID, w->uid))
		return 1;
	/* the effective uid: read only for a rule that excepts some (packet rules never do) */
	if (!(mode & BG_NO_TASK) && (flags & BG_VAL_F_EXC_EUID)) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();

		if (bg_exc_hit(&k, BG_EXC_EUID, BPF_CORE_READ(task, cred, euid.val)))
			return 1;
	}
	if (bg_exc_hit(&k, BG_EXC_CGROUP, w->cgroup_id))
		return 1;
	for (int i = 0; i < BG_CGROUP_DEPTH_MAX; i++) {
		if (i >= w->ncgroups)
			break;
		if (bg_exc_hit(&k, BG_EXC_CGROUP_SUBTREE, w->cgroup_ids[i & (BG_CGROUP_DEPTH_MAX - 1)]))
			return 1;
	}
	return 0;
}

/* Packet programs: does rule_id apply on the packet's interface, in this
 * program? Its keys in bg_rules: (kind, op 1, a = rule id, b = ifindex,
 * c = 0 for tc, 1 for XDP). */
#define BG_OP_ON_INTERFACE 1
BG_INLINE int bg_on_interface(struct bg_work *w, __u32 kind, __u32 rule_id)
{
	struct bg_rule_key k = {
		.gen = (__u8)w->gen,
		.kind = (__u8)kind,
		.op = BG_OP_ON_INTERFACE,
		.a = rule_id,
		.b = w->ifindex,
		.c = w->ifhook,
	};

	return bpf_map_lookup_elem(&bg_rules, &k) != 0;
}

BG_INLINE struct bg_rule_val *bg_lookup_rules(struct bg_work *w)
{
	struct bg_rule_val *v = bpf_map_lookup_elem(&bg_rules, &w->rkey);
	__u32 a = w->rkey.a, b = w->rkey.b, c = w->rkey.c;

	if (v || w->wild == BG_WILD_NONE)
		return v;
	switch (w->wild) {
	case BG_WILD_A:
		w->rkey.a = BG_ANY;
		v = bpf_map_lookup_elem(&bg_rules, &w->rkey);
		break;
	case BG_WILD_B:
	case BG_WILD_C: {
		/* the last wildcardable field, then the one before it too */
		__u32 *last = w->wild == BG_WILD_B ? &w->rkey.b : &w->rkey.c;
		__u32 *before = w->wild == BG_WILD_B ? &w->rkey.a : &w->rkey.b;

		*last = BG_ANY;
		v = bpf_map_lookup_elem(&bg_rules, &w->rkey);
		if (!v) {
			*before = BG_ANY;
			v = bpf_map_lookup_elem(&bg_rules, &w->rkey);
		}
		break;
	}
	}
	w->rkey.a = a;
	w->rkey.b = b;
	w->rkey.c = c;
	return v;
}

BG_INLINE struct bg_rule_val *bg_lookup_net(struct bg_work *w)
{
	struct bg_rule_val *v;
	__u8 proto = w->nkey.proto;
	__u16 port = w->nkey.port;

	v = bpf_map_lookup_elem(&bg_net_rules, &w->nkey);
	if (!v && port) {
		w->nkey.port = 0;
		v = bpf_map_lookup_elem(&bg_net_rules, &w->nkey);
	}
	if (!v && proto) {
		w->nkey.proto = 0;
		w->nkey.port = port;
		v = bpf_map_lookup_elem(&bg_net_rules, &w->nkey);
		if (!v && port) {
			w->nkey.port = 0;
			v = bpf_map_lookup_elem(&bg_net_rules, &w->nkey);
		}
	}
	w->nkey.proto = proto;
	w->nkey.port = port;
	return v;
}

static long bg_slot_cb(__u32 i, void *data)
{
	struct bg_loop_ctx *c = data;
	struct bg_work *w = c->w;
	struct bg_gen_config *cfg = c->cfg;
	struct bg_rule_val *v = 0;
	__u32 slot = i & (BG_MAX_SLOTS - 1);
	__u64 bit = 1ULL << slot;
	__u32 rule_id;
	__u8 action, flags, rank, da, dk;

	if (!w || !cfg || i >= BG_MAX_SLOTS)
		return 1;
	/* no slot at or above this one is in the mask: stop the loop */
	if (!(c->mask >> slot))
		return 1;
	if (!(c->mask & bit))
		return 0;

	switch (w->table) {
	case BG_TABLE_PATH:
		w->pkey.slot = slot;
		v = bpf_map_lookup_elem(&bg_path_rules, &w->pkey);
		break;
	case BG_TABLE_RULES:
		w->rkey.slot = slot;
		v = bg_lookup_rules(w);
		break;
	case BG_TABLE_NET:
		w->nkey.slot = slot;
		v = bg_lookup_net(w);
		break;
	}
	if (v) {
		rule_id = v->rule_id;
		action = v->action;
		flags = v->flags;
	} else if (cfg->default_block[c->kind & (BG_KIND_MAX - 1)] & bit & (((c->mode >> 5) & 1) - 1ULL)) {
		/* (the last mask: none under BG_NO_DEFAULT, 0x20; without a branch, as below) */
		rule_id = BG_RULE_DEFAULT | slot;
		/*
		 * where the posture can only kill (a tracepoint serves part of it), a
		 * miss is a kill. Computed without a branch: a branch here doubles the
		 * paths after every slot loop, and took bg_tp_sys_enter past Debian
		 * 6.1's verifier limit (over 1,000,000 instructions explored)
		 */
		da = cfg->default_action[slot];
		dk = (cfg->default_kill[c->kind & (BG_KIND_MAX - 1)] >> slot) & 1;
		action = da + dk * (BG_ACT_KILL - da);
		flags = (cfg->dryrun & bit) ? BG_VAL_F_DRYRUN : 0;
	} else {
		return 0;
	}
	if ((c->mode & BG_NO_BLOCK) && action == BG_ACT_BLOCK)
		return 0;
	rank = bg_rank(action, flags);
	if (rank <= w->rank)
		return 0;
	if (bg_excepted(w, rule_id, flags, c->mode))
		return 0;
	if (w->ifindex && !bg_on_interface(w, c->kind, rule_id))
		return 0;
	w->rank = rank;
	w->rule_id = rule_id;
	w->action = action;
	w->flags = flags;
	w->slot = slot;
	return 0;
}

/*
 * Run the slot loop for `kind` with the key already in w (w->table set), on
 * the rule set of the generation w's scope was computed for (w->gen).
 * Returns the rank of the decision (0: nothing applies).
 */
BG_INLINE __u8 bg_match(struct bg_work *w, __u32 kind, __u32 mode)
{
	__u32 gen = w->gen & 1;
	struct bg_loop_ctx c = {
		.w = w,
		.cfg = bpf_map_lookup_elem(&bg_gen_config, &gen),
		.kind = kind,
		.mode = mode,
	};

	w->rank = 0;
	w->rule_id = 0;
	w->action = 0;
	w->flags = 0;
	w->slot = 0;
	if (!c.cfg)
		return 0;
	c.mask = w->scope & c.cfg->kind_slots[kind & (BG_KIND_MAX - 1)];
	if (!c.mask)
		return 0;
	bpf_loop(BG_MAX_SLOTS, bg_slot_cb, &c, 0);
	return w->rank;
}

/* The best decision over several matches of one action (several ops, or the
 * two paths of a rename or link). */
struct bg_best {
	__u32 rule_id;
	__u8 action;
	__u8 flags;
	__u8 slot;
	__u8 rank;
	__u8 op;
	__u8 which; /* caller's tag: which of its matches won */
};

BG_INLINE void bg_best_take(struct bg_work *w, struct bg_best *b, __u8 op, __u8 which)
{
	if (w->rank > b->rank) {
		b->rank = w->rank;
		b->rule_id = w->rule_id;
		b->action = w->action;
		b->flags = w->flags;
		b->slot = w->slot;
		b->op = op;
		b->which = which;
	}
}

BG_INLINE void bg_best_apply(struct bg_work *w, struct bg_best *b)
{
	w->rank = b->rank;
	w->rule_id = b->rule_id;
	w->action = b->action;
	w->flags = b->flags;
	w->slot = b->slot;
}

/* Key builders: gen, kind and op; the target is the caller's. */
BG_INLINE void bg_key_path(struct bg_work *w, __u8 kind, __u8 op)
{
	w->table = BG_TABLE_PATH;
	w->pkey.prefixlen = 32 + 8 * BG_PATH_MAX;
	w->pkey.gen = (__u8)w->gen;
	w->pkey.kind = kind;
	w->pkey.op = op;
}

/*
 * Can any slot decide the path in w->pkey, for any operation of `kind`? One
 * lookup of bg_path_any, which holds every bg_path_rules key with its slot
 * and op bytes 0: a path that matches no prefix there matches none in any
 * slot, for any op, and the caller skips its slot loops (an LPM lookup per
 * slot and op). Always 1 when a slot in scope blocks by default (a miss is a
 * decision there). Once per path, not per op: inside bg_match it took
 * bg_tp_sys_enter from 777k to 871k of Debian 6.1's 1M instructions.
 */
BG_INLINE int bg_path_any_hit(struct bg_work *w, __u8 kind)
{
	__u32 gen = w->gen & 1;
	struct bg_gen_config *cfg = bpf_map_lookup_elem(&bg_gen_config, &gen);

	if (!cfg || (w->scope & cfg->kind_slots[kind & (BG_KIND_MAX - 1)] & cfg->default_block[kind & (BG_KIND_MAX - 1)]))
		return 1;
	bg_key_path(w, kind, 0);
	w->pkey.slot = 0;
	return bpf_map_lookup_elem(&bg_path_any, &w->pkey) != 0;
}

BG_INLINE void bg_key_rule(struct bg_work *w, __u8 kind, __u8 op, __u32 a, __u32 b, __u32 c, __u32 wild)
{
	w->table = BG_TABLE_RULES;
	w->wild = wild;
	w->rkey.gen = (__u8)w->gen;
	w->rkey.slot = 0;
	w->rkey.kind = kind;
	w->rkey.op = op;
	w->rkey.a = a;
	w->rkey.b = b;
	w->rkey.c = c;
}

#endif /* BPFGATE_MATCH_H */
