// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * cgroup hooks: deny (the caller sees EPERM) for processes in the attach
 * cgroup's subtree. Return 1 allows, 0 rejects. Each program reads its
 * context and calls the kind's decision function (bpf/kinds/).
 *
 *   bg_cg_sock_create   socket   (family, type)
 *   bg_cg_connect4/6    connect  (address, port, protocol)
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

/* The address, port and protocol of a connect or bind. */
BG_INLINE int bg_cg_sockaddr(struct bpf_sock_addr *ctx, __u8 kind, int v6)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, kind);
	__u32 ip[4] = {};
	__u16 port;
	__u8 proto;

	if (!w)
		return 1;
	port = bpf_ntohs((__u16)ctx->user_port);
	proto = (__u8)ctx->protocol;
	if (v6) {
		ip[0] = ctx->user_ip6[0];
		ip[1] = ctx->user_ip6[1];
		ip[2] = ctx->user_ip6[2];
		ip[3] = ctx->user_ip6[3];
	} else {
		ip[0] = ctx->user_ip4;
	}
	return BG_CG_VERDICT(bg_net_decide(w, kind, v6, ip, port, proto, CG_MECH, CG_MODE));
}

/* One program per hook: the kind and the address family are the hook's. */
#define BG_CG_SOCKADDR(name, sec, kind, v6)           \
	SEC(sec)                                      \
	int name(struct bpf_sock_addr *ctx)           \
	{                                             \
		return bg_cg_sockaddr(ctx, kind, v6); \
	}

BG_CG_SOCKADDR(bg_cg_connect4, "cgroup/connect4", BG_KIND_CONNECT, 0)
BG_CG_SOCKADDR(bg_cg_connect6, "cgroup/connect6", BG_KIND_CONNECT, 1)
BG_CG_SOCKADDR(bg_cg_bind4, "cgroup/bind4", BG_KIND_BIND, 0)
BG_CG_SOCKADDR(bg_cg_bind6, "cgroup/bind6", BG_KIND_BIND, 1)

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
