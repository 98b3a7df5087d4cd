/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * connect and bind: outgoing connections and datagrams, and binds, by the
 * address, port and protocol of a socket address. MUST MATCH
 * src/kinds/connect.ts and src/kinds/bind.ts, which share src/kinds/net.ts.
 * One decision function serves both kinds.
 *
 * Keys (bg_net_rules): family 4 or 6, the address (a CIDR prefix), port 0 =
 * any, proto 0 = any; looked up as (proto, port), (proto, 0), (0, port), (0, 0).
 *
 * The address is decided as what it is, not as it was spelt:
 *   - an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address a.b.c.d;
 *   - connect: the unspecified address (0.0.0.0, ::) reaches loopback, so it is
 *     decided as itself and as 127.0.0.1 (::1), the stronger result winning;
 *   - bind: :: on an IPv6 socket also binds 0.0.0.0 (dual stack), so it is
 *     decided as itself and as 0.0.0.0.
 * listen() on a socket that was never bound gets a port the kernel picks: it
 * is decided as a bind of the wildcard address to port 0, which only rules
 * without ports (and allowlists) match.
 *
 * The record: arg0 = family (4 or 6), arg1 = port, arg2 = protocol, arg3 =
 * the call (BG_NET_CALL_*), aux[0..15] = the address (connect: the
 * destination, bind: the local one) as decided; path = the acting executable.
 * Callers: cgroup/connect4, cgroup/connect6 (TCP fast open included: the
 * kernel runs them inside sendmsg), cgroup/sendmsg4, cgroup/sendmsg6 (UDP
 * datagrams with a destination), cgroup/bind4, cgroup/bind6; listen:
 * lsm/socket_listen and raw_tracepoint/sys_enter.
 */
#ifndef BPFGATE_KIND_NET_H
#define BPFGATE_KIND_NET_H

#include "lib/common.h"

#define BG_KIND_CONNECT 10
#define BG_KIND_BIND 11

/* The call that was decided (record arg3). MUST MATCH NET_CALL in src/kinds/net.ts. */
#define BG_NET_CALL_CONNECT 1
#define BG_NET_CALL_SENDMSG 2
#define BG_NET_CALL_BIND 3
#define BG_NET_CALL_LISTEN 4

#define BG_IPPROTO_TCP 6
#define BG_IPPROTO_MPTCP 262

/* What a hook saw: the address in network byte order (IPv4 in ip[0]), port in host byte order. */
struct bg_net_in {
	__u32 ip[4];
	__u32 proto; /* IPPROTO_*, as the hook reports it */
	__u16 port;
	__u8 v6;
	__u8 call;
};

/* One candidate address: match it, keep it if it beats the best so far. */
BG_INLINE void bg_net_try(struct bg_work *w, __u8 kind, const struct bg_net_in *in, __u32 mode,
			  struct bg_best *best, __u8 which)
{
	w->table = BG_TABLE_NET;
	w->nkey.prefixlen = 64 + (in->v6 ? 128 : 32);
	w->nkey.gen = (__u8)w->gen;
	w->nkey.slot = 0;
	w->nkey.kind = kind;
	w->nkey.proto = (__u8)in->proto;
	w->nkey.port = in->port;
	w->nkey.family = in->v6 ? 6 : 4;
	w->nkey.pad = 0;
	__builtin_memcpy(w->nkey.addr, in->ip, 16);
	bg_match(w, kind, mode);
	bg_best_take(w, best, 0, which);
}

BG_INLINE int bg_net_v4mapped(const __u32 *ip)
{
	return ip[0] == 0 && ip[1] == 0 && ip[2] == bpf_htonl(0xffff);
}

BG_INLINE int bg_net_unspecified(const struct bg_net_in *in)
{
	return in->v6 ? !(in->ip[0] | in->ip[1] | in->ip[2] | in->ip[3]) : in->ip[0] == 0;
}

/* kind: BG_KIND_CONNECT or BG_KIND_BIND. */
BG_INLINE int bg_net_decide(struct bg_work *w, __u8 kind, struct bg_net_in *in, __u8 mech, __u32 mode)
{
	struct bg_net_in alias = {};
	struct bg_best best = {};
	int aliased = 0;

	if (in->v6 && bg_net_v4mapped(in->ip)) {
		in->ip[0] = in->ip[3];
		in->ip[1] = in->ip[2] = in->ip[3] = 0;
		in->v6 = 0;
	}
	/* MPTCP is TCP on the wire */
	if (in->proto == BG_IPPROTO_MPTCP)
		in->proto = BG_IPPROTO_TCP;
	if (bg_net_unspecified(in)) {
		alias = *in;
		if (kind == BG_KIND_CONNECT) {
			/* the kernel routes a connection to the unspecified address to loopback */
			if (in->v6)
				alias.ip[3] = bpf_htonl(1);
			else
				alias.ip[0] = bpf_htonl(0x7f000001);
			aliased = 1;
		} else if (in->v6) {
			/* :: on a dual-stack socket binds 0.0.0.0 too */
			alias.v6 = 0;
			aliased = 1;
		}
	}

	bg_net_try(w, kind, in, mode, &best, 0);
	if (aliased)
		bg_net_try(w, kind, &alias, mode, &best, 1);
	if (!best.rank)
		return 0;
	bg_best_apply(w, &best);
	if (best.which)
		in = &alias;
	__builtin_memcpy(w->aux, in->ip, 16);
	return bg_report(w, kind, BG_OP_NONE, mech, mode, BG_REC_EXE | BG_REC_AUX, in->v6 ? 6 : 4, in->port,
			 in->proto, in->call);
}

/*
 * listen() on sock: a socket that was never bound gets a port the kernel
 * picks, which no bind hook sees; decided here as a bind of the wildcard
 * address to port 0. A bound socket's bind was decided when it was bound.
 */
BG_INLINE int bg_net_listen(struct bg_work *w, struct socket *sock, __u8 mech, __u32 mode)
{
	struct sock *sk = BPF_CORE_READ(sock, sk);
	struct bg_net_in in = { .call = BG_NET_CALL_LISTEN };
	__u16 family;

	if (!sk)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (BPF_CORE_READ(sk, __sk_common.skc_num))
		return 0;
	in.v6 = family == AF_INET6;
	in.proto = BPF_CORE_READ(sk, sk_protocol);
	return bg_net_decide(w, BG_KIND_BIND, &in, mech, mode);
}

#endif /* BPFGATE_KIND_NET_H */
