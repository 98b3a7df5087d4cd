/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * ingress and egress: packets on named interfaces (tc, XDP), by the remote
 * address, the destination port and the protocol. MUST MATCH
 * src/kinds/ingress.ts and src/kinds/egress.ts, which share
 * src/kinds/packet.ts.
 *
 * Keys (bg_net_rules): as connect's (kinds/net.h): family 4 or 6, the remote
 * address (ingress: the source, egress: the destination) as a CIDR prefix,
 * port = the destination port (0 = any), proto 0 = any (ICMP is 1 for IPv4,
 * 58 for IPv6). Keys (bg_rules): (slot 0, kind, BG_OP_ON_INTERFACE, a = rule id,
 * b = ifindex, c = 1 for XDP rules, 2 for cgroup_skb), one per interface the rule names
 * (lib/match.h): the tc program does not decide XDP rules, nor the reverse.
 *
 * A packet on an interface has no process: in tc and XDP only slots without
 * cgroup, uid, executable or pid-namespace selectors apply, and exceptions
 * never do. Rules of policies scoped to cgroups (or with unless.cgroups) are
 * decided by cgroup_skb programs instead, on the socket's cgroup: their
 * interface keys carry c = 2 (BG_HOOK_CGROUP_SKB).
 *
 * Non-first fragments carry no ports: they are decided with port 0 (rules
 * without ports); dropping a first fragment is enough for a port rule, since
 * the datagram cannot be reassembled without it.
 *
 * The record (no process): arg0 = family, arg1 = destination port, arg2 =
 * protocol, arg3 = source port | packets suppressed since the last record on
 * this CPU << 16; aux[0..15] = the remote address, aux[16..31] = the local one.
 * At most one record per rule per second per CPU (bg_pkt_rate); every match is
 * counted in bg_pkt_counts (index: rule id).
 * Callers: tc (tcx) ingress and egress, xdp, cgroup_skb ingress and egress.
 */
#ifndef BPFGATE_KIND_PACKET_H
#define BPFGATE_KIND_PACKET_H

#include "lib/common.h"

#define BG_KIND_INGRESS 16
#define BG_KIND_EGRESS 17

#define BG_PKT_RULES 4096
#define BG_NS_PER_SEC 1000000000ULL

/* Per rule: what matched it (bg_pkt_counts, per CPU). MUST MATCH src/kinds/packet.ts. */
struct bg_pkt_count {
	__u64 packets;
	__u64 bytes;
	__u64 events;
	__u64 suppressed;
};

/* Per rule and CPU: the second of the last record, and matches since not reported. */
struct bg_pkt_rate {
	__u64 sec;
	__u64 suppressed;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BG_PKT_RULES);
	__type(key, __u32);
	__type(value, struct bg_pkt_count);
} bg_pkt_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BG_PKT_RULES);
	__type(key, __u32);
	__type(value, struct bg_pkt_rate);
} bg_pkt_rate SEC(".maps");

/* What a packet program read of a packet. Addresses in network byte order (IPv4 in [0]). */
struct bg_pkt {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 v6;
	__u32 len;
};

#define BG_ETH_P_IP 0x0800
#define BG_ETH_P_IPV6 0x86DD

/*
 * Parse an IPv4 or IPv6 packet whose network header starts at `off`, `eth`
 * being its EtherType (host order), through `load` (bpf_skb_load_bytes or
 * bpf_xdp_load_bytes). Returns 0 for what is neither IPv4 nor IPv6.
 */
#define BG_PKT_PARSE_L3(ctx, load, p, eth, off)                                                 \
	({                                                                                      \
		int __ok = 0;                                                                   \
		__u16 __eth = (eth);                                                            \
		__u32 __off = (off);                                                            \
		__u32 __l4 = 0;                                                                 \
		int __frag = 0;                                                                 \
		if (__eth == BG_ETH_P_IP) {                                                     \
			__u8 __h[20];                                                           \
			if (load(ctx, __off, __h, 20) == 0 && (__h[0] >> 4) == 4) {            \
				(p)->v6 = 0;                                                    \
				(p)->proto = __h[9];                                            \
				__builtin_memcpy(&(p)->src[0], &__h[12], 4);                    \
				__builtin_memcpy(&(p)->dst[0], &__h[16], 4);                    \
				__frag = ((((__u16)__h[6] << 8) | __h[7]) & 0x1fff) != 0;         \
				__l4 = __off + (__h[0] & 0xf) * 4;                              \
				__ok = 1;                                                       \
			}                                                                       \
		} else if (__eth == BG_ETH_P_IPV6) {                                            \
			__u8 __h[40];                                                           \
			if (load(ctx, __off, __h, 40) == 0 && (__h[0] >> 4) == 6) {            \
				(p)->v6 = 1;                                                    \
				(p)->proto = __h[6];                                            \
				__builtin_memcpy((p)->src, &__h[8], 16);                        \
				__builtin_memcpy((p)->dst, &__h[24], 16);                       \
				__l4 = __off + 40;                                              \
				__ok = 1;                                                       \
				/* extension headers: hop-by-hop, routing, fragment, destination */ \
				for (int __i = 0; __i < 4; __i++) {                             \
					__u8 __x[8];                                            \
					__u8 __n = (p)->proto;                                  \
					if (__n != 0 && __n != 43 && __n != 44 && __n != 60)   \
						break;                                          \
					if (load(ctx, __l4, __x, 8)) {                          \
						__frag = 1;                                     \
						break;                                          \
					}                                                       \
					(p)->proto = __x[0];                                    \
					if (__n == 44) {                                        \
						__frag = ((((__u16)__x[2] << 8) | __x[3]) & 0xfff8) != 0; \
						__l4 += 8;                                      \
					} else {                                                \
						__l4 += 8 + __x[1] * 8;                         \
					}                                                       \
				}                                                               \
			}                                                                       \
		}                                                                               \
		if (__ok && !__frag && ((p)->proto == 6 || (p)->proto == 17)) {                 \
			__u16 __ports[2];                                                       \
			if (load(ctx, __l4, __ports, 4) == 0) {                                 \
				(p)->sport = bpf_ntohs(__ports[0]);                             \
				(p)->dport = bpf_ntohs(__ports[1]);                             \
			}                                                                       \
		}                                                                               \
		__ok;                                                                           \
	})

/* An Ethernet frame (tc, XDP): the EtherType at 12, the network header at 14. */
#define BG_PKT_PARSE(ctx, load, p)                                                              \
	({                                                                                      \
		__u16 __type = 0;                                                               \
		load(ctx, 12, &__type, 2) == 0 ? BG_PKT_PARSE_L3(ctx, load, p, bpf_ntohs(__type), 14) : 0; \
	})

/* The decision's scratch entry for a packet: the active generation and the slots that apply to any packet. */
BG_INLINE struct bg_work *bg_pkt_enter(__u32 kind, __u32 ifindex, __u32 xdp)
{
	struct bg_work *w = bg_work_get(BG_HEAP_NESTED);
	struct bg_state *st = 0;
	struct bg_gen_config *cfg;

	if (!w)
		return 0;
	cfg = bg_config(w, &st);
	if (!cfg)
		return 0;
	w->scope = cfg->active_slots & cfg->any_cgroup & cfg->any_uid & cfg->any_euid & cfg->any_exe &
		   ~(cfg->host_only | cfg->containers_only) & cfg->kind_slots[kind & (BG_KIND_MAX - 1)];
	if (!w->scope)
		return 0;
	w->ifindex = ifindex;
	w->ifhook = xdp;
	w->uid = BG_ANY;
	w->exe_id = 0;
	w->cgroup_id = 0;
	w->ncgroups = 0;
	return w;
}

/*
 * cgroup_skb: the packets of sockets in scoped cgroups. The socket's cgroup
 * is the one its creator was in when it made the socket (the kernel's
 * sk_cgrp_data); a packet has no reliable current task (softirq, retransmits,
 * ACKs), so only the cgroup decides, never the uid or executable.
 *
 * Scratch: an entry of its own per direction, not bg_heap's, since an egress
 * runs in the sending task (where a softirq's tc or XDP program, which use
 * BG_HEAP_NESTED, can interrupt it) as well as in softirq.
 */
#define BG_HOOK_CGROUP_SKB 2
#define BG_SKB_LEVEL_MAX 64

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bg_work);
} bg_skb_heap SEC(".maps");

struct bg_skb_walk {
	struct __sk_buff *skb;
	struct bg_work *w;
	__u32 n;
};

/* Level l of the socket's cgroup chain (0: the root), into a ring of the last BG_CGROUP_DEPTH_MAX. */
static long bg_skb_level_cb(__u32 l, void *data)
{
	struct bg_skb_walk *c = data;
	__u64 id;

	if (!c->w)
		return 1;
	id = bpf_skb_ancestor_cgroup_id(c->skb, l);
	if (!id)
		return 1;
	c->w->cgroup_ids[l & (BG_CGROUP_DEPTH_MAX - 1)] = id;
	c->n = l + 1;
	return 0;
}

/*
 * The socket's cgroup and its ancestors into w->cgroup_ids, the set
 * bg_cgroup_chain fills for a task (here in level order, not from self up: the
 * scope and exception lookups take them as a set, self being w->cgroup_id).
 * Deeper than BG_CGROUP_DEPTH_MAX levels: the topmost entry is
 * BG_CGROUP_ID_UNRESOLVED (every cgroup-scoped slot: fail closed).
 */
BG_INLINE void bg_skb_cgroup_chain(struct bg_work *w, struct __sk_buff *skb)
{
	struct bg_skb_walk c = { .skb = skb, .w = w, .n = 0 };

	w->cgroup_id = bpf_skb_cgroup_id(skb);
	w->cgroup_ids[0] = w->cgroup_id;
	w->ncgroups = 1;
	if (!w->cgroup_id)
		return;
	bpf_loop(BG_SKB_LEVEL_MAX, bg_skb_level_cb, &c, 0);
	if (c.n == 0)
		return;
	if (c.n > BG_CGROUP_DEPTH_MAX || c.n == BG_SKB_LEVEL_MAX) {
		/* the oldest entry of the ring: the topmost level kept */
		w->cgroup_ids[c.n & (BG_CGROUP_DEPTH_MAX - 1)] = BG_CGROUP_ID_UNRESOLVED;
		w->ncgroups = BG_CGROUP_DEPTH_MAX;
	} else {
		w->ncgroups = c.n;
	}
}

/*
 * The decision's scratch entry for a cgroup_skb packet: the slots of the
 * socket's cgroup chain (bg_scope_cgroup, as for a task) without uid,
 * executable or pid-namespace selectors. Rules reach this program only
 * through their bg_rules interface keys with c = BG_HOOK_CGROUP_SKB, so the
 * tc program's rules are never decided twice.
 */
BG_INLINE struct bg_work *bg_pkt_enter_skb(__u32 kind, struct __sk_buff *skb)
{
	__u32 idx = kind == BG_KIND_INGRESS ? 1 : 0;
	struct bg_work *w = bpf_map_lookup_elem(&bg_skb_heap, &idx);
	struct bg_state *st = 0;
	struct bg_gen_config *cfg;
	__u64 cgmask;

	if (!w)
		return 0;
	cfg = bg_config(w, &st);
	if (!cfg)
		return 0;
	w->scope = cfg->active_slots & cfg->any_uid & cfg->any_euid & cfg->any_exe &
		   ~(cfg->host_only | cfg->containers_only) & cfg->kind_slots[kind & (BG_KIND_MAX - 1)];
	if (!w->scope)
		return 0;
	/* the socket's cgroup: the same bg_scope_cache entries as a task's (the chain of a
	 * cgroup id is the same set however it was found) */
	struct bg_scope_epochs e = bg_scope_epochs_now();
	__u64 id = bpf_skb_cgroup_id(skb);

	if (!bg_scope_cached(w, id, e, &cgmask)) {
		bg_skb_cgroup_chain(w, skb);
		cgmask = bg_cgroup_mask(w, w->cgroup_id, 1);
		for (int i = 0; i < BG_CGROUP_DEPTH_MAX; i++) {
			if (i >= w->ncgroups)
				break;
			cgmask |= bg_cgroup_mask(w, w->cgroup_ids[i & (BG_CGROUP_DEPTH_MAX - 1)], 0);
		}
		if (w->cgroup_id)
			bg_scope_cache_put(w, cgmask, e);
	} else {
		w->cgroup_id = id;
	}
	w->scope &= cfg->any_cgroup | cgmask;
	if (!w->scope)
		return 0;
	/* no device (never seen at these hooks): an index no rule names */
	w->ifindex = skb->ifindex ? skb->ifindex : BG_ANY;
	w->ifhook = BG_HOOK_CGROUP_SKB;
	w->uid = BG_ANY;
	w->exe_id = 0;
	return w;
}

/* Count the match, and write a record unless this CPU wrote one for the rule this second. */
BG_INLINE void bg_pkt_report(struct bg_work *w, __u8 kind, __u8 mech, struct bg_verdict *vd,
			     const struct bg_pkt *p, int ingress)
{
	__u32 rid = w->rule_id;
	struct bg_pkt_count *cnt = bpf_map_lookup_elem(&bg_pkt_counts, &rid);
	struct bg_pkt_rate *rate = bpf_map_lookup_elem(&bg_pkt_rate, &rid);
	__u64 now = bpf_ktime_get_boot_ns(), sec = now / BG_NS_PER_SEC + 1;
	struct bg_event *e;

	if (cnt) {
		cnt->packets++;
		cnt->bytes += p->len;
	}
	if (!rate)
		return;
	if (rate->sec == sec) {
		rate->suppressed++;
		if (cnt)
			cnt->suppressed++;
		return;
	}
	e = bpf_ringbuf_reserve(&bg_events, sizeof(*e), 0);
	if (!e) {
		bg_stat_inc(BG_STAT_RINGBUF_DROPS);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->rule_id = w->rule_id;
	e->ret = vd->ret;
	e->kind = kind;
	e->action = w->action;
	e->mechanism = mech;
	e->outcome = vd->outcome;
	e->slot = w->slot;
	e->gen = (__u8)w->gen;
	e->flags = BG_EV_F_EXE_UNKNOWN;
	e->arg[0] = p->v6 ? 6 : 4;
	e->arg[1] = p->dport;
	e->arg[2] = p->proto;
	e->arg[3] = p->sport | (rate->suppressed << 16);
	__builtin_memcpy(e->aux, ingress ? p->src : p->dst, 16);
	__builtin_memcpy(e->aux + 16, ingress ? p->dst : p->src, 16);
	rate->sec = sec;
	rate->suppressed = 0;
	if (cnt)
		cnt->events++;
	bg_event_submit(e);
}

/* Decide a packet: 1 when it must be dropped. */
BG_INLINE int bg_pkt_decide(struct bg_work *w, __u8 kind, const struct bg_pkt *p, __u8 mech)
{
	int ingress = kind == BG_KIND_INGRESS;
	struct bg_verdict vd;

	w->table = BG_TABLE_NET;
	w->nkey.prefixlen = 64 + (p->v6 ? 128 : 32);
	w->nkey.gen = (__u8)w->gen;
	w->nkey.slot = 0;
	w->nkey.kind = kind;
	w->nkey.proto = p->proto;
	w->nkey.port = p->dport;
	w->nkey.family = p->v6 ? 6 : 4;
	w->nkey.pad = 0;
	__builtin_memcpy(w->nkey.addr, ingress ? p->src : p->dst, 16);
	if (!bg_match(w, kind, BG_CAN_DENY | BG_NO_TASK))
		return 0;
	vd = bg_act(w, BG_CAN_DENY);
	if (w->action >= BG_ACT_AUDIT)
		bg_pkt_report(w, kind, mech, &vd, p, ingress);
	return vd.deny;
}

#endif /* BPFGATE_KIND_PACKET_H */
