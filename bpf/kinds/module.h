/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * module: kernel module loading. MUST MATCH src/kinds/module.ts.
 *
 * Keys (bg_rules): op = where the image comes from, a = BG_ANY.
 * The record: arg0 = op; path = the module file where the caller knows it,
 * else the acting executable.
 * Callers: lsm/kernel_read_file (a file), lsm/kernel_load_data (memory), and
 * raw_tracepoint/sys_enter (finit_module, init_module).
 */
#ifndef BPFGATE_KIND_MODULE_H
#define BPFGATE_KIND_MODULE_H

#include "lib/common.h"

#define BG_KIND_MODULE 4

/* where the image comes from: a file (finit_module) or memory (init_module) */
enum bg_module_op { BG_OP_MODULE_FILE = 1, BG_OP_MODULE_DATA = 2 };

/* A module image from a file or from memory (op); file: the module file, for the record (or BG_FROM_NONE). */
BG_INLINE int bg_module_decide(struct bg_work *w, __u8 op, const struct bg_path_src *file,
			       __u8 mech, __u32 mode)
{
	__u32 rec = BG_REC_EXE;

	bg_key_rule(w, BG_KIND_MODULE, op, BG_ANY, 0, 0, BG_WILD_NONE);
	if (!bg_match(w, BG_KIND_MODULE, mode))
		return 0;
	if (file->from != BG_FROM_NONE) {
		bg_path_build(w, file);
		rec = BG_REC_PATH;
	}
	return bg_report(w, BG_KIND_MODULE, op, mech, mode, rec, op, 0, 0, 0);
}

#endif /* BPFGATE_KIND_MODULE_H */
