/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * file: file access by operation. MUST MATCH src/kinds/file.ts.
 *
 * Keys (bg_path_rules): op BG_OP_FILE_*, the file's path (exact or a
 * directory prefix); one lookup per operation the access asks for.
 * The record: path = the file (rename, link: the old name), aux = the new
 * name (rename, link), arg0 = what the hook passed (open flags, mode, owner).
 * Callers: lsm/file_open, lsm/path_* and lsm/inode_setxattr (deny before the
 * access), and raw_tracepoint/sys_enter (kill after the call, on the path the
 * caller passed: absolute paths only; never setid or setcap).
 *
 * A path the program could not build (BG_EV_F_UNRESOLVED) is matched as the
 * key BG_PATH_UNRESOLVED_KEY: the compiler puts there, per slot and operation,
 * the block or kill rule that decides it (fail closed), and an allowlist's
 * default refuses it. sys_enter's strings are never unresolved. A file an
 * inode hook is given on a file system other than the task root's (no mount:
 * where it is mounted is unknown) is matched as BG_PATH_FOREIGN_KEY instead,
 * which only rules on "/" hold: other rules decide it by its identity.
 */
#ifndef BPFGATE_KIND_FILE_H
#define BPFGATE_KIND_FILE_H

#include "lib/common.h"
#include "lib/ident.h"

#define BG_KIND_FILE 2

enum bg_file_op {
	BG_OP_FILE_READ = 1,
	BG_OP_FILE_WRITE = 2,
	BG_OP_FILE_CREATE = 3,
	BG_OP_FILE_UNLINK = 4,
	BG_OP_FILE_RENAME = 5,
	BG_OP_FILE_CHMOD = 6,
	BG_OP_FILE_CHOWN = 7,
	BG_OP_FILE_LINK = 8,
	BG_OP_FILE_TRUNCATE = 9,
	BG_OP_FILE_SETID = 10,  /* a setuid or setgid bit set on a file (chmod, or created with it) */
	BG_OP_FILE_SETCAP = 11, /* file capabilities added (the security.capability xattr) */
	BG_OP_FILE_MKDIR = 12,   /* a directory created */
	BG_OP_FILE_SYMLINK = 13, /* a symbolic link created */
	BG_OP_FILE_XATTR = 14,   /* an extended attribute set or removed (security.capability too) */
};
/* the last operation the security hooks decide (sys_enter stops at BG_OP_FILE_TRUNCATE) */
#define BG_OP_FILE_LAST BG_OP_FILE_XATTR

#define BG_FILE_OP(op) (1u << (op))

/* One file access. */
struct bg_file_in {
	__u32 ops;                   /* BG_FILE_OP() of each operation the access is */
	__u64 arg;                   /* the record's arg0 */
	struct bg_path_src path;     /* the file; rename and link: the old name */
	struct bg_path_src new_path; /* rename and link: the new name (BG_FROM_NONE otherwise) */
};

/* Match the key in w->pkey for each op up to last, keeping the best. */
BG_INLINE void bg_file_match_ops(struct bg_work *w, struct bg_best *best, __u32 ops, __u8 which, __u32 mode,
				 __u8 last)
{
	if (!bg_path_any_hit(w, BG_KIND_FILE))
		return;
	for (__u8 op = BG_OP_FILE_READ; op <= last; op++) {
		if (!(ops & BG_FILE_OP(op)))
			continue;
		bg_key_path(w, BG_KIND_FILE, op);
		bg_match(w, BG_KIND_FILE, mode);
		bg_best_take(w, best, op, which);
	}
}

/* Build a path rules can match (0: none, or a relative one), and match it for
 * each op, keeping the best. An unresolved path is matched as the unresolved key;
 * a file an inode hook was given on another file system than the task root's as
 * the foreign key (rules on "/" only: any other rule decides it by identity). */
BG_INLINE int bg_file_match(struct bg_work *w, struct bg_best *best,
			    const struct bg_path_src *src, __u32 ops, __u8 which, __u32 mode)
{
	/* sys_enter (BG_KILL_AFTER) never sees setid or setcap: its loop stays as it was */
	__u8 last = (mode & BG_KILL_AFTER) ? BG_OP_FILE_TRUNCATE : BG_OP_FILE_LAST;

	if (bg_path_build(w, src)) {
		if (!bg_path_absolute(w)) {
			bg_path_reset(w);
			return 0;
		}
		bg_path_to_key(w, &w->pkey);
	} else if (src->from != BG_FROM_USER && bg_path_unresolved(w)) {
		if (bg_src_foreign(src))
			bg_path_key_foreign(&w->pkey);
		else
			bg_path_key_unresolved(&w->pkey);
	} else {
		return 0;
	}
	bg_file_match_ops(w, best, ops, which, mode, last);
	return 1;
}

/* The path a rule names for the file's identity (lib/ident.h), into w->pkey.
 * Renaming or removing a protected directory, and renaming one on the way to
 * a protected path, are decided as that operation on the protected path. */
BG_INLINE int bg_file_ident(struct bg_work *w, const struct bg_path_src *src, __u32 ops)
{
	__u32 self = 0;
	struct bg_file_id_val *id;

	if (ops & (BG_FILE_OP(BG_OP_FILE_RENAME) | BG_FILE_OP(BG_OP_FILE_UNLINK)))
		self |= BG_IDENT_SELF_DIR;
	if (ops & BG_FILE_OP(BG_OP_FILE_RENAME))
		self |= BG_IDENT_SELF_ANCESTOR;
	id = bg_ident_find(w->gen, bg_src_dentry_of(src), self);
	if (!id)
		return 0;
	__builtin_memcpy(w->pkey.path, id->path, BG_PATH_MAX);
	return 1;
}

/* The file's identity, when a rule names it or a directory above it (lib/ident.h):
 * whatever name reached the file, the rule's path decides too. Not for
 * sys_enter (BG_KILL_AFTER), which has only the caller's string. */
BG_INLINE void bg_file_match_ident(struct bg_work *w, struct bg_best *best, const struct bg_path_src *src,
				   __u32 ops, __u8 which, __u32 mode)
{
	if (src->from != BG_FROM_NONE && src->from != BG_FROM_USER && bg_file_ident(w, src, ops))
		bg_file_match_ops(w, best, ops, which, mode, BG_OP_FILE_LAST);
}

/*
 * A file access: either name of a rename or link matching decides (the new
 * name is matched first; the record's path is the old name, its aux the new).
 */
BG_INLINE int bg_file_decide(struct bg_work *w, const struct bg_file_in *in, __u8 mech,
			     __u32 mode)
{
	struct bg_best best = {};
	__u32 rec = BG_REC_PATH;

	if (in->new_path.from != BG_FROM_NONE) {
		rec |= BG_REC_AUX;
		w->aux[0] = 0;
		if (bg_file_match(w, &best, &in->new_path, in->ops, 1, mode)) {
			bpf_probe_read_kernel(w->aux, sizeof(w->aux), &w->buf[w->start & BG_BUF_MASK]);
			w->aux[BG_AUX_MAX - 1] = 0;
		}
	}
	bg_file_match(w, &best, &in->path, in->ops, 0, mode);
	if (!(mode & BG_KILL_AFTER)) {
		bg_file_match_ident(w, &best, &in->new_path, in->ops, 1, mode);
		bg_file_match_ident(w, &best, &in->path, in->ops, 0, mode);
	}
	if (!best.rank)
		return 0;
	bg_best_apply(w, &best);
	/* arg[1]: every operation the access is (an open O_TRUNC is read or write, and truncate) */
	return bg_report(w, BG_KIND_FILE, best.op, mech, mode, rec, in->arg, in->ops, 0, 0);
}

#endif /* BPFGATE_KIND_FILE_H */
