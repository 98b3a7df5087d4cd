// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * Packet programs: ingress and egress rules on named interfaces
 * (bpf/kinds/packet.h). The loader attaches each once per interface and
 * direction the rules name: tc programs as tcx links, the XDP program as an
 * XDP link (native or generic mode).
 *
 *   bg_tc_ingress   tcx/ingress   ingress  drop: TCX_DROP
 *   bg_tc_egress    tcx/egress    egress   drop: TCX_DROP
 *   bg_xdp_ingress  xdp           ingress  drop: XDP_DROP, before the stack
 *   bg_cgskb_ingress cgroup_skb/ingress  ingress, scoped  drop: 0, before the socket
 *   bg_cgskb_egress  cgroup_skb/egress   egress, scoped   drop: 0, the sender gets EPERM
 *
 * The cgroup_skb programs are attached once to the attach cgroup (like the
 * other cgroup programs) and see the packets of sockets in its subtree,
 * without an Ethernet header: the network header is at offset 0.
 */
#include "lib/common.h"
#include "kinds/packet.h"

#define BG_TCX_NEXT (-1)
#define BG_TCX_DROP 2
#define BG_XDP_DROP 1
#define BG_XDP_PASS 2

BG_INLINE int bg_tc(struct __sk_buff *skb, __u8 kind)
{
	struct bg_pkt p = {};
	struct bg_work *w = bg_pkt_enter(kind, skb->ifindex, 0);

	if (!w || !BG_PKT_PARSE(skb, bpf_skb_load_bytes, &p))
		return BG_TCX_NEXT;
	p.len = skb->len;
	return bg_pkt_decide(w, kind, &p, BG_MECH_TC) ? BG_TCX_DROP : BG_TCX_NEXT;
}

SEC("tc")
int bg_tc_ingress(struct __sk_buff *skb)
{
	return bg_tc(skb, BG_KIND_INGRESS);
}

SEC("tc")
int bg_tc_egress(struct __sk_buff *skb)
{
	return bg_tc(skb, BG_KIND_EGRESS);
}

SEC("xdp")
int bg_xdp_ingress(struct xdp_md *ctx)
{
	struct bg_pkt p = {};
	struct bg_work *w = bg_pkt_enter(BG_KIND_INGRESS, ctx->ingress_ifindex, 1);

	if (!w || !BG_PKT_PARSE(ctx, bpf_xdp_load_bytes, &p))
		return BG_XDP_PASS;
	p.len = ctx->data_end - ctx->data;
	return bg_pkt_decide(w, BG_KIND_INGRESS, &p, BG_MECH_XDP) ? BG_XDP_DROP : BG_XDP_PASS;
}

BG_INLINE int bg_cgskb(struct __sk_buff *skb, __u8 kind)
{
	struct bg_pkt p = {};
	struct bg_work *w = bg_pkt_enter_skb(kind, skb);

	if (!w || !BG_PKT_PARSE_L3(skb, bpf_skb_load_bytes, &p, bpf_ntohs(skb->protocol), 0))
		return 1;
	p.len = skb->len;
	return bg_pkt_decide(w, kind, &p, BG_MECH_CGROUP) ? 0 : 1;
}

SEC("cgroup_skb/ingress")
int bg_cgskb_ingress(struct __sk_buff *skb)
{
	return bg_cgskb(skb, BG_KIND_INGRESS);
}

SEC("cgroup_skb/egress")
int bg_cgskb_egress(struct __sk_buff *skb)
{
	return bg_cgskb(skb, BG_KIND_EGRESS);
}
