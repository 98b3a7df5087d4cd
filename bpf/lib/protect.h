/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Self-protection (docs/persistence.md): while armed, no process but the
 * daemon (bg_protect.daemon_tgid) may
 *   - detach or replace bpfgate's links, or write, delete or freeze entries of
 *     its maps (lsm/bpf: LINK_DETACH, LINK_UPDATE, PROG_DETACH, MAP_*_ELEM,
 *     MAP_*_BATCH, MAP_FREEZE on objects named bg_*);
 *   - remove, rename or replace its pins (path_unlink, path_rename, path_rmdir
 *     under the pin root) or unmount a BPF file system (sb_umount);
 *   - signal the daemon (task_kill), except signal 0 (is it alive?), SIGHUP
 *     (reload) and anything from pid 1 (the service manager's orderly stop);
 *   - attach to it with ptrace (ptrace_access_check, PTRACE_MODE_ATTACH: also
 *     process_vm_writev and pidfd_getfd); reads (/proc/<pid>/...) stay allowed.
 *
 * The programs are attached by the daemon without pins: protection lasts as
 * long as the daemon does; the pinned enforcement outlives it.
 * User-space mirror of bg_protect: src/kernel/protect.ts.
 */
#ifndef BPFGATE_PROTECT_H
#define BPFGATE_PROTECT_H

#include "lib/fd.h"

#define BG_BPF_FS_MAGIC 0xcafe4a11
#define BG_SIGHUP 1
#define BG_PROTECT_DEPTH 4

struct bg_protect_cfg {
	__u32 armed;
	__u32 daemon_tgid;
	__u64 pin_root_ino; /* inode number of the pin root folder on bpffs */
	__u64 denied;       /* attempts refused */
};

_Static_assert(sizeof(struct bg_protect_cfg) == 24, "bg_protect_cfg");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bg_protect_cfg);
} bg_protect SEC(".maps");

/* The configuration when armed and the caller is not the daemon, else NULL (allow). */
BG_INLINE struct bg_protect_cfg *bg_protect_guard(void)
{
	__u32 zero = 0;
	struct bg_protect_cfg *c = bpf_map_lookup_elem(&bg_protect, &zero);

	if (!c || !c->armed)
		return 0;
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == c->daemon_tgid)
		return 0;
	/* opaque to the compiler: callers test this register for NULL, not a
	 * condition the verifier cannot relate to it */
	asm volatile("" : "+r"(c));
	return c;
}

BG_INLINE int bg_protect_deny(struct bg_protect_cfg *c)
{
	__sync_fetch_and_add(&c->denied, 1);
	return -EPERM;
}

/* bpfgate's maps and programs are named bg_* */
BG_INLINE int bg_protect_name_ours(const char *name)
{
	char n[4] = {};

	bpf_probe_read_kernel(n, 3, name);
	return n[0] == 'b' && n[1] == 'g' && n[2] == '_';
}

/* What the file of a bpf map or link fd holds (the map or the link), or NULL. */
BG_INLINE void *bg_protect_fd_private(int fd)
{
	struct file *f = bg_fd_file(fd);

	return f ? BPF_CORE_READ(f, private_data) : 0;
}

/* A map fd: its name. (Not a map: whatever private_data holds will not be
 * named bg_*, and the kernel refuses the command anyway.) */
BG_INLINE int bg_protect_map_fd_ours(int fd)
{
	struct bpf_map *m = bg_protect_fd_private(fd);

	return m && bg_protect_name_ours((const char *)__builtin_preserve_access_index(&m->name));
}

BG_INLINE int bg_protect_prog_ours(struct bpf_prog *p)
{
	struct bpf_prog_aux *aux = p ? BPF_CORE_READ(p, aux) : 0;

	return aux && bg_protect_name_ours((const char *)__builtin_preserve_access_index(&aux->name));
}

BG_INLINE int bg_protect_link_fd_ours(int fd)
{
	struct bpf_link *l = bg_protect_fd_private(fd);

	return l && bg_protect_prog_ours(BPF_CORE_READ(l, prog));
}

BG_INLINE int bg_protect_prog_fd_ours(int fd)
{
	struct file *f = bg_fd_file(fd);

	return f && bg_protect_prog_ours(BPF_CORE_READ(f, private_data));
}

/* Is d the pin root or below it (a few levels: root/links/<pin>)? */
BG_INLINE int bg_protect_under_root(struct bg_protect_cfg *c, struct dentry *d)
{
	int i;

	if (!d || BPF_CORE_READ(d, d_sb, s_magic) != BG_BPF_FS_MAGIC)
		return 0;
	for (i = 0; i < BG_PROTECT_DEPTH; i++) {
		struct dentry *parent;

		if (BPF_CORE_READ(d, d_inode, i_ino) == c->pin_root_ino)
			return 1;
		parent = BPF_CORE_READ(d, d_parent);
		if (!parent || parent == d)
			return 0;
		d = parent;
	}
	return 0;
}

/* Only the command and attr are read: the hook grew a trailing argument after 6.1. */
SEC("lsm/bpf")
int BPF_PROG(bg_protect_bpf, int cmd, union bpf_attr *attr)
{
	struct bg_protect_cfg *c = bg_protect_guard();
	int ours = 0;

	if (!c)
		return 0;
	switch (cmd) {
	case BPF_MAP_UPDATE_ELEM:
	case BPF_MAP_DELETE_ELEM:
	case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
	case BPF_MAP_FREEZE:
		ours = bg_protect_map_fd_ours(BPF_CORE_READ(attr, map_fd));
		break;
	case BPF_MAP_UPDATE_BATCH:
	case BPF_MAP_DELETE_BATCH:
	case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
		ours = bg_protect_map_fd_ours(BPF_CORE_READ(attr, batch.map_fd));
		break;
	case BPF_LINK_UPDATE:
		ours = bg_protect_link_fd_ours(BPF_CORE_READ(attr, link_update.link_fd));
		break;
	case BPF_LINK_DETACH:
		ours = bg_protect_link_fd_ours(BPF_CORE_READ(attr, link_detach.link_fd));
		break;
	case BPF_PROG_DETACH:
		ours = bg_protect_prog_fd_ours(BPF_CORE_READ(attr, attach_bpf_fd));
		break;
	default:
		return 0;
	}
	return ours ? bg_protect_deny(c) : 0;
}

SEC("lsm/task_kill")
int BPF_PROG(bg_protect_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	struct bg_protect_cfg *c;

	if (ret)
		return ret;
	c = bg_protect_guard();
	if (!c || sig == 0 || sig == BG_SIGHUP)
		return 0;
	if ((__u32)BPF_CORE_READ(p, tgid) != c->daemon_tgid)
		return 0;
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == 1)
		return 0; /* the service manager */
	return bg_protect_deny(c);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(bg_protect_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	struct bg_protect_cfg *c;

	if (ret)
		return ret;
	c = bg_protect_guard();
	if (!c || !(mode & PTRACE_MODE_ATTACH))
		return 0;
	if ((__u32)BPF_CORE_READ(child, tgid) != c->daemon_tgid)
		return 0;
	return bg_protect_deny(c);
}

/* A name removed from a directory under the protected root. */
BG_INLINE int bg_protect_removal(struct dentry *dentry, int ret)
{
	struct bg_protect_cfg *c;

	if (ret)
		return ret;
	c = bg_protect_guard();
	return c && bg_protect_under_root(c, dentry) ? bg_protect_deny(c) : 0;
}

SEC("lsm/path_unlink")
int BPF_PROG(bg_protect_path_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	return bg_protect_removal(dentry, ret);
}

SEC("lsm/path_rmdir")
int BPF_PROG(bg_protect_path_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	return bg_protect_removal(dentry, ret);
}

SEC("lsm/path_rename")
int BPF_PROG(bg_protect_path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	struct bg_protect_cfg *c;

	if (ret)
		return ret;
	c = bg_protect_guard();
	if (!c)
		return 0;
	if (bg_protect_under_root(c, old_dentry) || bg_protect_under_root(c, new_dentry))
		return bg_protect_deny(c);
	return 0;
}

SEC("lsm/sb_umount")
int BPF_PROG(bg_protect_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	struct bg_protect_cfg *c;

	if (ret)
		return ret;
	c = bg_protect_guard();
	if (!c || BPF_CORE_READ(mnt, mnt_sb, s_magic) != BG_BPF_FS_MAGIC)
		return 0;
	return bg_protect_deny(c); /* unmounting bpffs would drop every pin */
}

#endif /* BPFGATE_PROTECT_H */
