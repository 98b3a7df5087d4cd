/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * exec: program execution. MUST MATCH src/kinds/exec.ts.
 *
 * Keys (bg_path_rules): op BG_OP_NONE, the executable's path (exact or a
 * directory prefix). The record: path = the executable as exec'd.
 * Callers: lsm/bprm_check_security (deny before the new program runs) and
 * tp_btf/sched_process_exec (kill before its first instruction).
 * A path the program could not build is matched as the unresolved key (file.h).
 */
#ifndef BPFGATE_KIND_EXEC_H
#define BPFGATE_KIND_EXEC_H

#include "lib/common.h"

#define BG_KIND_EXEC 1

/* The executed file's path is w's built path (the caller built it from the kernel's file). */
BG_INLINE int bg_exec_decide(struct bg_work *w, __u8 mech, __u32 mode)
{
	if (bg_path_unresolved(w))
		bg_path_key_unresolved(&w->pkey);
	else
		bg_path_to_key(w, &w->pkey);
	bg_key_path(w, BG_KIND_EXEC, BG_OP_NONE);
	if (!bg_match(w, BG_KIND_EXEC, mode))
		return 0;
	return bg_report(w, BG_KIND_EXEC, BG_OP_NONE, mech, mode, BG_REC_PATH, 0, 0, 0, 0);
}

#endif /* BPFGATE_KIND_EXEC_H */
