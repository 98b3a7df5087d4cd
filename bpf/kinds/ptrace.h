/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * ptrace: access to another process. MUST MATCH src/kinds/ptrace.ts.
 *
 * Keys (bg_rules): op BG_OP_PTRACE_*.
 * The record: arg0 = the target's tgid, arg1 = op; path = the acting executable.
 * Callers: lsm/ptrace_access_check and raw_tracepoint/sys_enter (ptrace(2)).
 */
#ifndef BPFGATE_KIND_PTRACE_H
#define BPFGATE_KIND_PTRACE_H

#include "lib/common.h"

#define BG_KIND_PTRACE 6

enum bg_ptrace_op { BG_OP_PTRACE_ATTACH = 1, BG_OP_PTRACE_READ = 2 };

BG_INLINE int bg_ptrace_decide(struct bg_work *w, __u8 op, __u64 pid, __u8 mech,
			       __u32 mode)
{
	bg_key_rule(w, BG_KIND_PTRACE, op, 0, 0, 0, BG_WILD_NONE);
	if (!bg_match(w, BG_KIND_PTRACE, mode))
		return 0;
	return bg_report(w, BG_KIND_PTRACE, op, mech, mode, BG_REC_EXE, pid, op, 0, 0);
}

#endif /* BPFGATE_KIND_PTRACE_H */
