/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * socket: socket creation. MUST MATCH src/kinds/socket.ts.
 *
 * Keys (bg_rules): op BG_OP_NONE, a = the address family or BG_ANY, b = the
 * socket type or BG_ANY.
 * The record: arg0 = family, arg1 = type, arg2 = protocol; path = the acting
 * executable.
 * Callers: lsm/socket_create (every family), cgroup/sock_create (inet and
 * inet6) and raw_tracepoint/sys_enter (the other families, while no LSM
 * socket program runs): one socket() call is decided by one of them.
 */
#ifndef BPFGATE_KIND_SOCKET_H
#define BPFGATE_KIND_SOCKET_H

#include "lib/common.h"

#define BG_KIND_SOCKET 9

/* type: without SOCK_NONBLOCK and SOCK_CLOEXEC (BG_SOCK_TYPE_MASK). */
BG_INLINE int bg_socket_decide(struct bg_work *w, __u32 family, __u32 type,
			       __u32 protocol, __u8 mech, __u32 mode)
{
	bg_key_rule(w, BG_KIND_SOCKET, BG_OP_NONE, family, type, 0, BG_WILD_B);
	if (!bg_match(w, BG_KIND_SOCKET, mode))
		return 0;
	return bg_report(w, BG_KIND_SOCKET, BG_OP_NONE, mech, mode, BG_REC_EXE, family, type, protocol, 0);
}

#endif /* BPFGATE_KIND_SOCKET_H */
