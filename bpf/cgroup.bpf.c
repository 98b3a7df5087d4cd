// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * cgroup hooks: deny (the caller sees EPERM) for processes in the attach
 * cgroup's subtree. Return 1 allows, 0 rejects.
 *
 *   bg_cg_sock_create   socket   bg_rules (family, type)
 *   bg_cg_connect4/6    connect  bg_net_rules (address, port, protocol)
 *   bg_cg_bind4/6       bind     bg_net_rules
 *   bg_cg_dev           device   bg_rules ('c'|'b', major, minor), one op per access bit
 *   bg_cg_sysctl        sysctl   bg_path_rules (name with '/', op read|write)
 */
#include "lib/common.h"

/* cgroup programs run in the caller's task context */
#define CG_CTX BG_CTX_TASK
#define CG_MODE BG_CAN_DENY

BG_INLINE int bg_cg_finish(struct bg_work *w, __u8 kind, __u8 op, struct bg_verdict *vd,
			   __u64 a0, __u64 a1, __u64 a2, __u64 a3, const void *aux, __u32 auxlen)
{
	struct bg_event *e;

	if (w->action >= BG_ACT_AUDIT) {
		e = bg_event_new(w, kind, op, BG_MECH_CGROUP, vd, CG_CTX);
		if (e) {
			e->arg[0] = a0;
			e->arg[1] = a1;
			e->arg[2] = a2;
			e->arg[3] = a3;
			if (aux && auxlen)
				__builtin_memcpy(e->aux, aux, 16);
			bg_event_exe(w, e, CG_CTX);
			bg_event_submit(e);
		}
	}
	return vd->deny ? 0 : 1;
}

SEC("cgroup/sock_create")
int bg_cg_sock_create(struct bpf_sock *sk)
{
	struct bg_work *w = bg_work_get(BG_HEAP_MAIN);
	struct bg_gen_config *cfg = 0;
	struct bg_verdict vd;
	__u32 family, type, protocol;

	if (!w || !bg_scope(w, &cfg, CG_CTX) || !cfg)
		return 1;
	family = sk->family;
	type = sk->type;
	protocol = sk->protocol;
	bg_key_rule(w, BG_KIND_SOCKET, BG_OP_NONE, family, type, 0, BG_WILD_B);
	if (!bg_match(w, cfg, BG_KIND_SOCKET, CG_MODE))
		return 1;
	vd = bg_act(w, CG_MODE);
	return bg_cg_finish(w, BG_KIND_SOCKET, BG_OP_NONE, &vd, family, type, protocol, 0, 0, 0);
}

BG_INLINE int bg_cg_sockaddr(struct bpf_sock_addr *ctx, __u8 kind, int v6)
{
	struct bg_work *w = bg_work_get(BG_HEAP_MAIN);
	struct bg_gen_config *cfg = 0;
	struct bg_verdict vd;
	__u32 ip[4] = {};
	__u16 port;
	__u8 proto;

	if (!w || !bg_scope(w, &cfg, CG_CTX) || !cfg)
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
	if (!bg_match(w, cfg, kind, CG_MODE))
		return 1;
	vd = bg_act(w, CG_MODE);
	return bg_cg_finish(w, kind, BG_OP_NONE, &vd, v6 ? 6 : 4, port, proto, 0, ip, 16);
}

SEC("cgroup/connect4")
int bg_cg_connect4(struct bpf_sock_addr *ctx)
{
	return bg_cg_sockaddr(ctx, BG_KIND_CONNECT, 0);
}

SEC("cgroup/connect6")
int bg_cg_connect6(struct bpf_sock_addr *ctx)
{
	return bg_cg_sockaddr(ctx, BG_KIND_CONNECT, 1);
}

SEC("cgroup/bind4")
int bg_cg_bind4(struct bpf_sock_addr *ctx)
{
	return bg_cg_sockaddr(ctx, BG_KIND_BIND, 0);
}

SEC("cgroup/bind6")
int bg_cg_bind6(struct bpf_sock_addr *ctx)
{
	return bg_cg_sockaddr(ctx, BG_KIND_BIND, 1);
}

BG_INLINE void bg_dev_try(struct bg_work *w, struct bg_gen_config *cfg, struct bg_best *best,
			  __u8 op, __u32 type, __u32 major, __u32 minor)
{
	bg_key_rule(w, BG_KIND_DEVICE, op, type, major, minor, BG_WILD_C);
	bg_match(w, cfg, BG_KIND_DEVICE, CG_MODE);
	bg_best_take(w, best, op, 0);
}

SEC("cgroup/dev")
int bg_cg_dev(struct bpf_cgroup_dev_ctx *ctx)
{
	struct bg_work *w = bg_work_get(BG_HEAP_MAIN);
	struct bg_gen_config *cfg = 0;
	struct bg_best best = {};
	struct bg_verdict vd;
	__u32 at = ctx->access_type, major = ctx->major, minor = ctx->minor;
	__u32 dtype = at & 0xffff, access = at >> 16;
	__u32 type = dtype == BG_DEVCG_DEV_BLOCK ? 'b' : 'c';

	if (!w || !bg_scope(w, &cfg, CG_CTX) || !cfg)
		return 1;
	if (access & BG_DEVCG_ACC_READ)
		bg_dev_try(w, cfg, &best, BG_OP_DEV_READ, type, major, minor);
	if (access & BG_DEVCG_ACC_WRITE)
		bg_dev_try(w, cfg, &best, BG_OP_DEV_WRITE, type, major, minor);
	if (access & BG_DEVCG_ACC_MKNOD)
		bg_dev_try(w, cfg, &best, BG_OP_DEV_MKNOD, type, major, minor);
	if (!best.rank)
		return 1;
	bg_best_apply(w, &best);
	vd = bg_act(w, CG_MODE);
	return bg_cg_finish(w, BG_KIND_DEVICE, best.op, &vd, type, major, minor, access, 0, 0);
}

SEC("cgroup/sysctl")
int bg_cg_sysctl(struct bpf_sysctl *ctx)
{
	struct bg_work *w = bg_work_get(BG_HEAP_MAIN);
	struct bg_gen_config *cfg = 0;
	struct bg_verdict vd;
	struct bg_event *e;
	__u8 op = ctx->write ? BG_OP_SYSCTL_WRITE : BG_OP_SYSCTL_READ;
	long n;

	if (!w || !bg_scope(w, &cfg, CG_CTX) || !cfg)
		return 1;
	bg_key_path(w, BG_KIND_SYSCTL, op);
	n = bpf_sysctl_get_name(ctx, w->pkey.path, sizeof(w->pkey.path), 0);
	if (n < 0 && n != -E2BIG)
		return 1;
	if (!bg_match(w, cfg, BG_KIND_SYSCTL, CG_MODE))
		return 1;
	vd = bg_act(w, CG_MODE);
	if (w->action >= BG_ACT_AUDIT) {
		e = bg_event_new(w, BG_KIND_SYSCTL, op, BG_MECH_CGROUP, &vd, CG_CTX);
		if (e) {
			e->arg[0] = op;
			if (bpf_sysctl_get_name(ctx, e->path, sizeof(e->path), 0) == -E2BIG)
				e->flags |= BG_EV_F_PATH_TRUNCATED;
			if (op == BG_OP_SYSCTL_WRITE)
				bpf_sysctl_get_new_value(ctx, e->aux, sizeof(e->aux));
			bg_event_submit(e);
		}
	}
	return vd.deny ? 0 : 1;
}
