/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Paths. Where a hook is on the kernel's bpf_d_path allow-list (file_open,
 * bprm_check_security, sb_mount) the programs use bpf_d_path. Elsewhere
 * (path_* hooks, tracepoints) bg_path_walk() walks the dentries up to the
 * task's root, crossing mounts, at most BG_PATH_DEPTH components: the same
 * string bpf_d_path would give, relative to the caller's root.
 *
 * Both leave the path in w->buf[w->start .. w->start + w->len), NUL included.
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

/* Prepend "/" + the qstr name of dentry. Returns 0 when it did not fit. */
BG_INLINE int bg_path_prepend(struct bg_work *w, struct dentry *d)
{
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	__u32 len = BPF_CORE_READ(d, d_name.len);
	__u32 off = w->start & BG_BUF_MASK;

	if (len > BG_NAME_MAX || len + 1 > off) {
		w->truncated = 1;
		return 0;
	}
	off -= len + 1;
	bpf_probe_read_kernel(&w->buf[(off + 1) & BG_BUF_MASK], len & BG_BUF_MASK, name);
	w->buf[off & BG_BUF_MASK] = '/';
	w->start = off;
	w->len = BG_BUF_HALF - off;
	return 1;
}

/* Prepend a plain string (at most BG_NAME_MAX bytes) as one component: "/" + s. */
BG_INLINE int bg_path_prepend_str(struct bg_work *w, const char *s, __u32 len)
{
	__u32 off = w->start & BG_BUF_MASK;

	if (len > BG_NAME_MAX || len + 1 > off) {
		w->truncated = 1;
		return 0;
	}
	off -= len + 1;
	bpf_probe_read_kernel(&w->buf[(off + 1) & BG_BUF_MASK], len & BG_BUF_MASK, s);
	w->buf[off & BG_BUF_MASK] = '/';
	w->start = off;
	w->len = BG_BUF_HALF - off;
	return 1;
}

/* Walk from (vfsmnt, dentry) to the task's root, prepending each component. */
BG_NOINLINE int bg_path_walk(struct bg_work *w, struct vfsmount *vfsmnt, struct dentry *dentry)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct dentry *root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);

	for (int i = 0; i < BG_PATH_DEPTH; i++) {
		struct dentry *mnt_root, *parent;

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
			continue;
		}
		if (!bg_path_prepend(w, dentry))
			return 0;
		dentry = parent;
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
		bg_path_reset(w);
		w->truncated = 1;
		return 0;
	}
	w->start = 0;
	w->len = n > BG_BUF_HALF ? BG_BUF_HALF : n;
	w->truncated = n > BG_BUF_HALF;
	return 1;
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
