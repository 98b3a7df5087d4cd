/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * bpf: the bpf() system call, by command. MUST MATCH src/kinds/bpf.ts.
 *
 * Keys (bg_rules): op BG_OP_NONE, a = the command or BG_ANY (every command).
 * The record: arg0 = the command; path = the acting executable.
 * Callers: lsm/bpf and raw_tracepoint/sys_enter.
 */
#ifndef BPFGATE_KIND_BPF_H
#define BPFGATE_KIND_BPF_H

#include "lib/common.h"

#define BG_KIND_BPF 5

BG_INLINE int bg_bpf_decide(struct bg_work *w, __u32 cmd, __u8 mech, __u32 mode)
{
	bg_key_rule(w, BG_KIND_BPF, BG_OP_NONE, cmd, 0, 0, BG_WILD_A);
	if (!bg_match(w, BG_KIND_BPF, mode))
		return 0;
	return bg_report(w, BG_KIND_BPF, BG_OP_NONE, mech, mode, BG_REC_EXE, cmd, 0, 0, 0);
}

#endif /* BPFGATE_KIND_BPF_H */
