// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * cgroup hooks: deny (the caller sees EPERM) for processes in the attach
 * cgroup's subtree. Return 1 allows, 0 rejects. Each program reads its
 * context and calls the kind's decision function (bpf/kinds/).
 *
 *   bg_cg_sock_create   socket   (family, type)
 *   bg_cg_connect4/6    connect  (address, port, protocol): connect(), and TCP fast
 *                                open's sendto(MSG_FASTOPEN), which connects inside sendmsg
 *   bg_cg_sendmsg4/6    connect  UDP datagrams sent with a destination (sendto,
 *                                sendmsg, sendmmsg without connect)
 *   bg_cg_bind4/6       bind     (address, port, protocol)
 *   bg_cg_dev           device   ('c'|'b', major, minor), one op per access bit
 *   bg_cg_sysctl        sysctl   (name with '/', op read|write)
 */
#include "lib/common.h"
#include "kinds/device.h"
#include "kinds/net.h"
#include "kinds/socket.h"
#include "kinds/sysctl.h"

#define CG_MECH BG_MECH_CGROUP
#define CG_MODE BG_CAN_DENY

/* A decision's -EPERM as a cgroup program's verdict. */
#define BG_CG_VERDICT(ret) ((ret) ? 0 : 1)

SEC("cgroup/sock_create")
int bg_cg_sock_create(struct bpf_sock *sk)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_SOCKET);

	if (!w)
		return 1;
	return BG_CG_VERDICT(bg_socket_decide(w, sk->family, sk->type, sk->protocol, CG_MECH, CG_MODE));
}

/* The address, port and protocol of a connect, datagram or bind. */
BG_INLINE int bg_cg_sockaddr(struct bpf_sock_addr *ctx, __u8 kind, int v6, __u8 call)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, kind);
	struct bg_net_in in = { .v6 = v6, .call = call };

	if (!w)
		return 1;
	in.port = bpf_ntohs((__u16)ctx->user_port);
	in.proto = ctx->protocol;
	if (v6) {
		in.ip[0] = ctx->user_ip6[0];
		in.ip[1] = ctx->user_ip6[1];
		in.ip[2] = ctx->user_ip6[2];
		in.ip[3] = ctx->user_ip6[3];
	} else {
		in.ip[0] = ctx->user_ip4;
	}
	return BG_CG_VERDICT(bg_net_decide(w, kind, &in, CG_MECH, CG_MODE));
}

/* One program per hook: the kind, the address family and the call are the hook's. */
#define BG_CG_SOCKADDR(name, sec, kind, v6, call)           \
	SEC(sec)                                            \
	int name(struct bpf_sock_addr *ctx)                 \
	{                                                   \
		return bg_cg_sockaddr(ctx, kind, v6, call); \
	}

BG_CG_SOCKADDR(bg_cg_connect4, "cgroup/connect4", BG_KIND_CONNECT, 0, BG_NET_CALL_CONNECT)
BG_CG_SOCKADDR(bg_cg_connect6, "cgroup/connect6", BG_KIND_CONNECT, 1, BG_NET_CALL_CONNECT)
BG_CG_SOCKADDR(bg_cg_sendmsg4, "cgroup/sendmsg4", BG_KIND_CONNECT, 0, BG_NET_CALL_SENDMSG)
BG_CG_SOCKADDR(bg_cg_sendmsg6, "cgroup/sendmsg6", BG_KIND_CONNECT, 1, BG_NET_CALL_SENDMSG)
BG_CG_SOCKADDR(bg_cg_bind4, "cgroup/bind4", BG_KIND_BIND, 0, BG_NET_CALL_BIND)
BG_CG_SOCKADDR(bg_cg_bind6, "cgroup/bind6", BG_KIND_BIND, 1, BG_NET_CALL_BIND)

SEC("cgroup/dev")
int bg_cg_dev(struct bpf_cgroup_dev_ctx *ctx)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_DEVICE);
	__u32 at = ctx->access_type;

	if (!w)
		return 1;
	return BG_CG_VERDICT(bg_device_decide(w, (at & 0xffff) == BG_DEVCG_DEV_BLOCK ? 'b' : 'c', ctx->major,
					      ctx->minor, at >> 16, CG_MECH, CG_MODE));
}

SEC("cgroup/sysctl")
int bg_cg_sysctl(struct bpf_sysctl *ctx)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_SYSCTL);

	if (!w)
		return 1;
	return BG_CG_VERDICT(bg_sysctl_decide(w, ctx, CG_MECH, CG_MODE));
}
