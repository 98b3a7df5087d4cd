/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Paths. Where a hook is on the kernel's bpf_d_path allow-list (file_open,
 * bprm_check_security, sb_mount) the programs use bpf_d_path. Elsewhere
 * (path_* hooks, tracepoints) bg_path_walk() walks the dentries up to the
 * task's root, crossing mounts, at most BG_PATH_DEPTH components: the same
 * string bpf_d_path would give, relative to the caller's root.
 *
 * Both leave the path in w->buf[w->start .. w->start + w->len), NUL included.
 *
 * w->truncated holds the record's path flags: BG_EV_F_PATH_TRUNCATED when the
 * path was cut with its head known (bpf_d_path, a system call's string: only
 * directory entries can match), and BG_EV_F_UNRESOLVED too when the program
 * could not build it at all (longer than the buffer or deeper than the walk
 * from the leaf up, refused by bpf_d_path). An unresolved path is decided as
 * the key BG_PATH_UNRESOLVED_KEY: fail closed (bg_path_key_unresolved).
 *
 * A program describes where its path comes from (struct bg_path_src: the
 * kernel objects its hook passes, or the string a system call passed), and
 * the kind's decision function builds it when it needs it (bg_path_build):
 * rename and link build two, one after the other.
 */
#ifndef BPFGATE_PATH_H
#define BPFGATE_PATH_H

#include "maps.h"

#define BG_PATH_DEPTH 32

/* Start an empty backwards path: just the terminating NUL at BG_BUF_HALF - 1. */
BG_INLINE void bg_path_reset(struct bg_work *w)
{
	w->buf[BG_BUF_HALF - 1] = 0;
	w->start = BG_BUF_HALF - 1;
	w->len = 1;
	w->truncated = 0;
}

/* Prepend a string in kernel memory (at most BG_NAME_MAX bytes) as one component: "/" + s.
 * Returns 0 when it did not fit. */
BG_INLINE int bg_path_prepend_str(struct bg_work *w, const char *s, __u32 len)
{
	__u32 off = w->start & BG_BUF_MASK;

	if (len > BG_NAME_MAX || len + 1 > off) {
		w->truncated = BG_EV_F_PATH_TRUNCATED | BG_EV_F_UNRESOLVED;
		return 0;
	}
	off -= len + 1;
	bpf_probe_read_kernel(&w->buf[(off + 1) & BG_BUF_MASK], len & BG_BUF_MASK, s);
	w->buf[off & BG_BUF_MASK] = '/';
	w->start = off;
	w->len = BG_BUF_HALF - off;
	return 1;
}

/* Prepend "/" + the qstr name of dentry. */
BG_INLINE int bg_path_prepend(struct bg_work *w, struct dentry *d)
{
	return bg_path_prepend_str(w, (const char *)BPF_CORE_READ(d, d_name.name), BPF_CORE_READ(d, d_name.len));
}

/* Walk from (vfsmnt, dentry) to the task's root, prepending each component.
 * 0 (unresolved) when the path is longer than the buffer or the walk ran out
 * of steps before the root: the head is unknown. */
BG_NOINLINE int bg_path_walk(struct bg_work *w, struct vfsmount *vfsmnt, struct dentry *dentry)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct dentry *root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	int done = 0;

	for (int i = 0; i < BG_PATH_DEPTH; i++) {
		struct dentry *mnt_root, *parent;

		done = 1;
		if (!dentry)
			break;
		if (dentry == root_dentry && vfsmnt == root_mnt)
			break;
		mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		parent = BPF_CORE_READ(dentry, d_parent);
		if (dentry == mnt_root || dentry == parent) {
			struct mount *mparent = BPF_CORE_READ(mnt, mnt_parent);

			if (dentry != mnt_root || mparent == mnt)
				break; /* the global root, or an unreachable dentry */
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mparent;
			vfsmnt = &mparent->mnt;
			done = 0;
			continue;
		}
		if (!bg_path_prepend(w, dentry))
			return 0;
		dentry = parent;
		done = 0;
	}
	if (!done && !(dentry == root_dentry && vfsmnt == root_mnt)) {
		/* deeper than the walk: the components above are unknown */
		w->truncated = BG_EV_F_PATH_TRUNCATED | BG_EV_F_UNRESOLVED;
		return 0;
	}
	if (w->start == BG_BUF_HALF - 1) {
		/* the root itself */
		w->buf[BG_BUF_HALF - 2] = '/';
		w->start = BG_BUF_HALF - 2;
		w->len = 2;
	}
	return 1;
}

/* Path of a struct path (dentry walk). */
BG_INLINE int bg_path_of(struct bg_work *w, const struct path *p)
{
	bg_path_reset(w);
	return bg_path_walk(w, BPF_CORE_READ(p, mnt), BPF_CORE_READ(p, dentry));
}

/* Path of (dir, dentry) as the path_* hooks pass a name being created or removed. */
BG_INLINE int bg_path_of_child(struct bg_work *w, const struct path *dir, struct dentry *d)
{
	bg_path_reset(w);
	if (!bg_path_prepend(w, d))
		return 0;
	return bg_path_walk(w, BPF_CORE_READ(dir, mnt), BPF_CORE_READ(dir, dentry));
}

/* bpf_d_path output (written at w->buf[0]) to the common form. */
BG_INLINE int bg_path_from_dpath(struct bg_work *w, long n)
{
	if (n <= 0) {
		/* refused (longer than the buffer: -ENAMETOOLONG) */
		bg_path_reset(w);
		w->truncated = BG_EV_F_PATH_TRUNCATED | BG_EV_F_UNRESOLVED;
		return 0;
	}
	w->start = 0;
	w->len = n > BG_BUF_HALF ? BG_BUF_HALF : n;
	w->truncated = n > BG_BUF_HALF;
	return 1;
}

/* A string in user memory (a system call's argument), at most BG_PATH_MAX
 * bytes with its NUL. 0: unreadable or empty. */
BG_INLINE int bg_path_user(struct bg_work *w, const char *s)
{
	long n = s ? bpf_probe_read_user_str(w->buf, BG_PATH_MAX, s) : 0;

	if (n <= 1) {
		bg_path_reset(w);
		return 0;
	}
	w->start = 0;
	w->len = n;
	w->truncated = n >= BG_PATH_MAX;
	return 1;
}

/* Where a path comes from. */
enum bg_path_from {
	BG_FROM_NONE = 0,
	BG_FROM_DPATH = 1, /* bpf_d_path(path): only on hooks of the kernel's d_path allow-list */
	BG_FROM_PATH = 2,  /* the dentry walk of path */
	BG_FROM_CHILD = 3, /* the dentry walk of (path, dentry): a name being created or removed in directory path */
	BG_FROM_MNT = 4,   /* the dentry walk of dentry on mount mnt (NULL: unresolved) */
	BG_FROM_USER = 5,  /* the string user, as a system call passed it (it may be relative) */
};

struct bg_path_src {
	__u32 from; /* enum bg_path_from */
	const struct path *path;
	struct dentry *dentry;
	struct vfsmount *mnt;
	const char *user;
};

/* Build s's path in w. 0 when it could not be built whole: what was built (if
 * anything) is left in w, marked truncated, for the record. Callers pass a
 * constant `from`: the other ways, bpf_d_path among them, compile away. */
BG_INLINE int bg_path_build(struct bg_work *w, const struct bg_path_src *s)
{
	switch (s->from) {
	case BG_FROM_DPATH:
		return bg_path_from_dpath(w, bpf_d_path((struct path *)s->path, w->buf, sizeof(w->buf)));
	case BG_FROM_PATH:
		return bg_path_of(w, s->path);
	case BG_FROM_CHILD:
		return bg_path_of_child(w, s->path, s->dentry);
	case BG_FROM_MNT:
		bg_path_reset(w);
		if (!s->mnt) {
			/* the caller could not tell the mount (bg_src_dentry) */
			w->truncated = BG_EV_F_PATH_TRUNCATED | BG_EV_F_UNRESOLVED;
			return 0;
		}
		return bg_path_walk(w, s->mnt, s->dentry);
	case BG_FROM_USER:
		return bg_path_user(w, s->user);
	}
	bg_path_reset(w);
	return 0;
}

/* A dentry without its mount (inode hooks): walked on the task's root mount
 * when it is on that file system; on another, which mount the caller reached
 * it through is not known here, and the path is unresolved. */
BG_INLINE struct bg_path_src bg_src_dentry(struct dentry *dentry)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct vfsmount *root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	struct bg_path_src src = { .from = BG_FROM_MNT, .dentry = dentry };

	if (dentry && BPF_CORE_READ(dentry, d_sb) == BPF_CORE_READ(root_mnt, mnt_sb))
		src.mnt = root_mnt;
	return src;
}

/* Is the built path absolute? (A relative one, from a system call, names a
 * file relative to a directory the program cannot see: no rule can match it.) */
BG_INLINE int bg_path_absolute(struct bg_work *w)
{
	return w->buf[w->start & BG_BUF_MASK] == '/';
}

/* Was the last path build refused as unresolved (its head unknown)? */
BG_INLINE int bg_path_unresolved(struct bg_work *w)
{
	return (w->truncated & BG_EV_F_UNRESOLVED) != 0;
}

/* The key of an unresolved path: the target BG_PATH_UNRESOLVED_KEY, exact. */
BG_INLINE void bg_path_key_unresolved(struct bg_path_key *k)
{
	k->prefixlen = 32 + 8 * BG_PATH_MAX;
	k->path[0] = BG_PATH_UNRESOLVED_KEY;
	k->path[1] = 0;
}

/* Is the source a dentry an inode hook was given, on a file system other than the task root's
 * (bg_src_dentry: no mount)? Its name is unknown, but not because it is too long or too deep. */
BG_INLINE int bg_src_foreign(const struct bg_path_src *s)
{
	return s->from == BG_FROM_MNT && !s->mnt && s->dentry;
}

/* The key of such a file: the target BG_PATH_FOREIGN_KEY, exact. */
BG_INLINE void bg_path_key_foreign(struct bg_path_key *k)
{
	k->prefixlen = 32 + 8 * BG_PATH_MAX;
	k->path[0] = BG_PATH_FOREIGN_KEY;
	k->path[1] = 0;
}

/* Copy the built path into an LPM key's path (BG_PATH_MAX bytes). A path that
 * does not fit is copied without its NUL: only directory prefixes can match. */
BG_INLINE void bg_path_to_key(struct bg_work *w, struct bg_path_key *k)
{
	__u32 n = w->len;

	if (n > BG_PATH_MAX) {
		n = BG_PATH_MAX;
		w->truncated = 1;
	}
	k->prefixlen = 32 + 8 * BG_PATH_MAX;
	bpf_probe_read_kernel(k->path, n & 0xff, &w->buf[w->start & BG_BUF_MASK]);
}

/* Copy the built path into a destination of BG_EXE_MAX bytes, NUL-terminated. */
BG_INLINE void bg_path_copy(struct bg_work *w, char *dst)
{
	__u32 n = w->len;

	if (n > BG_EXE_MAX)
		n = BG_EXE_MAX;
	bpf_probe_read_kernel(dst, n & 0x1ff, &w->buf[w->start & BG_BUF_MASK]);
	dst[BG_EXE_MAX - 1] = 0;
}

#endif /* BPFGATE_PATH_H */
