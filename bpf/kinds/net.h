/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * connect and bind: outgoing connections and binds, by the address, port
 * and protocol of a socket address. MUST MATCH src/kinds/connect.ts and
 * src/kinds/bind.ts, which share src/kinds/net.ts. One decision function
 * serves both kinds.
 *
 * Keys (bg_net_rules): family 4 or 6, the address (a CIDR prefix), port 0 =
 * any, proto 0 = any; looked up as (proto, port), (proto, 0), (0, port), (0, 0).
 * The record: arg0 = family (4 or 6), arg1 = port, arg2 = protocol, aux[0..15]
 * = the address (connect: the destination, bind: the local one); path = the
 * acting executable.
 * Callers: cgroup/connect4, cgroup/connect6, cgroup/bind4 and cgroup/bind6.
 */
#ifndef BPFGATE_KIND_NET_H
#define BPFGATE_KIND_NET_H

#include "lib/common.h"

#define BG_KIND_CONNECT 10
#define BG_KIND_BIND 11

/* kind: BG_KIND_CONNECT or BG_KIND_BIND; ip: the address in network byte order (IPv4 in ip[0]); port in host byte order. */
BG_INLINE int bg_net_decide(struct bg_work *w, __u8 kind, int v6, const __u32 *ip,
			    __u16 port, __u8 proto, __u8 mech, __u32 mode)
{
	w->table = BG_TABLE_NET;
	w->nkey.prefixlen = 64 + (v6 ? 128 : 32);
	w->nkey.gen = (__u8)w->gen;
	w->nkey.slot = 0;
	w->nkey.kind = kind;
	w->nkey.proto = proto;
	w->nkey.port = port;
	w->nkey.family = v6 ? 6 : 4;
	w->nkey.pad = 0;
	__builtin_memcpy(w->nkey.addr, ip, 16);
	if (!bg_match(w, kind, mode))
		return 0;
	__builtin_memcpy(w->aux, ip, 16);
	return bg_report(w, kind, BG_OP_NONE, mech, mode, BG_REC_EXE | BG_REC_AUX, v6 ? 6 : 4, port, proto, 0);
}

#endif /* BPFGATE_KIND_NET_H */
