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
 *     process_vm_readv/writev, /proc/<pid>/mem and pidfd_getfd); reads of
 *     /proc/<pid>/... stay allowed;
 *   - stop it without a signal of its own: change its resource limits
 *     (task_setrlimit: `prlimit --cpu=1` is a SIGXCPU later), its nice value,
 *     I/O priority or scheduling class (task_setnice, task_setioprio,
 *     task_setscheduler; pid 1 excepted), point a descriptor's SIGIO/SIGURG at it
 *     (file_fcntl F_SETOWN/F_SETOWN_EX, file_send_sigiotask), write its
 *     oom_score_adj or oom_adj (file_open on procfs, the task decided by the
 *     proc inode's pid), or write any file of its cgroup or of that cgroup's
 *     ancestors below the root: cgroup.kill, cgroup.freeze, cgroup.procs (a
 *     migration needs write access to the common ancestor's cgroup.procs),
 *     memory.max, cpu.max... (inode_permission on cgroup2, decided by the
 *     kernfs node ids recorded at arming; pid 1 excepted, the service manager).
 *
 * Each check is one decision function (bg_protect_on_*) attached two ways by
 * BG_PROTECT_HOOK, as the rule kinds' hooks are (security.bpf.c):
 *   bg_protect_<name>      SEC("lsm/<hook>")              where BPF-LSM is active
 *   bg_protect_fmr_<name>  SEC("fmod_ret/security_<hook>") where BPF-LSM is built
 *                          but not active: the kernel allows fmod_ret on every
 *                          security_* function; a non-zero return skips the
 *                          function (every LSM and the action itself)
 * The daemon attaches one set (src/abi/protect.ts picks the rung per hook).
 * A non-zero `ret` (an earlier program on the hook refused) is passed on.
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
#define BG_CGROUP2_MAGIC 0x63677270
#define BG_PROC_MAGIC 0x9fa0
#define BG_MAY_WRITE 0x2
#define BG_F_SETOWN 8
#define BG_F_SETOWN_EX 15
#define BG_F_OWNER_PID 1
#define BG_F_OWNER_PGRP 2
#define BG_PROTECT_CGROUPS 8

/* What was refused, one counter each (src/kernel/protect.ts PROTECT_REFUSALS). */
enum bg_protect_what {
	BG_PROTECT_BPF_OBJ = 0, /* detach, replace, map write */
	BG_PROTECT_SIGNAL = 1,
	BG_PROTECT_PTRACE = 2,
	BG_PROTECT_PIN = 3,
	BG_PROTECT_UMOUNT = 4,
	BG_PROTECT_RLIMIT = 5,
	BG_PROTECT_SIGIO = 6,
	BG_PROTECT_CGROUP = 7,
	BG_PROTECT_OOM = 8,
	BG_PROTECT_SCHED = 9,
	BG_PROTECT_WHATS = 16,
};

struct bg_protect_cfg {
	__u32 armed;
	__u32 daemon_tgid;
	__u64 pin_root_ino; /* inode number of the pin root folder on bpffs */
	__u64 denied;       /* attempts refused */
	/* kernfs ids of the daemon's cgroup and its ancestors but the root, 0: unused */
	__u64 cgroup_ids[BG_PROTECT_CGROUPS];
	__u64 denied_by[BG_PROTECT_WHATS];
};

_Static_assert(sizeof(struct bg_protect_cfg) == 216, "bg_protect_cfg");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bg_protect_cfg);
} bg_protect SEC(".maps");

#ifndef BG_ARGS
#define BG_ARGS(...) __VA_ARGS__
#endif

/* One program: `body`, one expression over the parameters in `params`. */
#define BG_PROTECT_PROG(sec, prog, params, body)                                       \
	SEC(sec)                                                                       \
	int BPF_PROG(prog, BG_ARGS params)                                             \
	{                                                                              \
		return body;                                                           \
	}

/* One check, two programs: BPF-LSM on lsm/<hook>, fmod_ret on the function fn. */
#define BG_PROTECT_HOOK(name, hook, fn, params, body)                                  \
	BG_PROTECT_PROG("lsm/" hook, bg_protect_##name, params, body)                  \
	BG_PROTECT_PROG("fmod_ret/" fn, bg_protect_fmr_##name, params, body)

/* The configuration when armed, else NULL (allow). */
BG_INLINE struct bg_protect_cfg *bg_protect_armed(void)
{
	__u32 zero = 0;
	struct bg_protect_cfg *c = bpf_map_lookup_elem(&bg_protect, &zero);

	if (!c || !c->armed)
		return 0;
	asm volatile("" : "+r"(c));
	return c;
}

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

BG_INLINE int bg_protect_deny(struct bg_protect_cfg *c, enum bg_protect_what what)
{
	__sync_fetch_and_add(&c->denied, 1);
	__sync_fetch_and_add(&c->denied_by[what & (BG_PROTECT_WHATS - 1)], 1);
	return -EPERM;
}

BG_INLINE int bg_protect_is_daemon(struct bg_protect_cfg *c, struct task_struct *t)
{
	return t && (__u32)BPF_CORE_READ(t, tgid) == c->daemon_tgid;
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

/* detach, replace or write one of bpfgate's links, programs or maps */
BG_INLINE int bg_protect_on_bpf(int cmd, union bpf_attr *attr)
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
	return ours ? bg_protect_deny(c, BG_PROTECT_BPF_OBJ) : 0;
}

/* Only the command and attr are read: the hook grew a trailing argument after
 * 6.1, so `ret` has no fixed place (an fmod_ret program after a refusing one
 * does not run: the trampoline stops at the first non-zero return). */
BG_PROTECT_HOOK(bpf, "bpf", "security_bpf", (int cmd, union bpf_attr *attr), bg_protect_on_bpf(cmd, attr))

BG_INLINE int bg_protect_on_task_kill(struct task_struct *p, int sig, int ret)
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
	return bg_protect_deny(c, BG_PROTECT_SIGNAL);
}

BG_PROTECT_HOOK(task_kill, "task_kill", "security_task_kill",
		(struct task_struct *p, struct kernel_siginfo *info, int sig, const struct cred *cred, int ret),
		bg_protect_on_task_kill(p, sig, ret))

BG_INLINE int bg_protect_on_ptrace(struct task_struct *child, unsigned int mode, int ret)
{
	struct bg_protect_cfg *c;

	if (ret)
		return ret;
	c = bg_protect_guard();
	if (!c || !(mode & PTRACE_MODE_ATTACH))
		return 0;
	if ((__u32)BPF_CORE_READ(child, tgid) != c->daemon_tgid)
		return 0;
	return bg_protect_deny(c, BG_PROTECT_PTRACE);
}

BG_PROTECT_HOOK(ptrace, "ptrace_access_check", "security_ptrace_access_check",
		(struct task_struct *child, unsigned int mode, int ret), bg_protect_on_ptrace(child, mode, ret))

/* A name removed from a directory under the protected root. */
BG_INLINE int bg_protect_removal(struct dentry *dentry, int ret)
{
	struct bg_protect_cfg *c;

	if (ret)
		return ret;
	c = bg_protect_guard();
	return c && bg_protect_under_root(c, dentry) ? bg_protect_deny(c, BG_PROTECT_PIN) : 0;
}

BG_PROTECT_HOOK(path_unlink, "path_unlink", "security_path_unlink",
		(const struct path *dir, struct dentry *dentry, int ret), bg_protect_removal(dentry, ret))

BG_PROTECT_HOOK(path_rmdir, "path_rmdir", "security_path_rmdir",
		(const struct path *dir, struct dentry *dentry, int ret), bg_protect_removal(dentry, ret))

BG_INLINE int bg_protect_on_rename(struct dentry *old_dentry, struct dentry *new_dentry, int ret)
{
	struct bg_protect_cfg *c;

	if (ret)
		return ret;
	c = bg_protect_guard();
	if (!c)
		return 0;
	if (bg_protect_under_root(c, old_dentry) || bg_protect_under_root(c, new_dentry))
		return bg_protect_deny(c, BG_PROTECT_PIN);
	return 0;
}

BG_PROTECT_HOOK(path_rename, "path_rename", "security_path_rename",
		(const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir,
		 struct dentry *new_dentry, unsigned int flags, int ret),
		bg_protect_on_rename(old_dentry, new_dentry, ret))

BG_INLINE int bg_protect_on_umount(struct vfsmount *mnt, int ret)
{
	struct bg_protect_cfg *c;

	if (ret)
		return ret;
	c = bg_protect_guard();
	if (!c || BPF_CORE_READ(mnt, mnt_sb, s_magic) != BG_BPF_FS_MAGIC)
		return 0;
	return bg_protect_deny(c, BG_PROTECT_UMOUNT); /* unmounting bpffs would drop every pin */
}

BG_PROTECT_HOOK(sb_umount, "sb_umount", "security_sb_umount", (struct vfsmount *mnt, int flags, int ret),
		bg_protect_on_umount(mnt, ret))

/* A change made to the daemon task by another process but pid 1 (the service
 * manager: moving the unit's tasks into a cpuset cgroup checks
 * task_setscheduler). */
BG_INLINE int bg_protect_task_change(struct task_struct *p, enum bg_protect_what what, int ret)
{
	struct bg_protect_cfg *c;

	if (ret)
		return ret;
	c = bg_protect_guard();
	if (!c || (__u32)(bpf_get_current_pid_tgid() >> 32) == 1)
		return 0;
	return bg_protect_is_daemon(c, p) ? bg_protect_deny(c, what) : 0;
}

/* prlimit(2) on the daemon: RLIMIT_CPU=1 is a SIGXCPU, RLIMIT_NOFILE=0 a starved daemon */
BG_PROTECT_HOOK(setrlimit, "task_setrlimit", "security_task_setrlimit",
		(struct task_struct *p, unsigned int resource, struct rlimit *new_rlim, int ret),
		bg_protect_task_change(p, BG_PROTECT_RLIMIT, ret))

BG_PROTECT_HOOK(setnice, "task_setnice", "security_task_setnice", (struct task_struct *p, int nice, int ret),
		bg_protect_task_change(p, BG_PROTECT_SCHED, ret))

BG_PROTECT_HOOK(setioprio, "task_setioprio", "security_task_setioprio",
		(struct task_struct *p, int ioprio, int ret), bg_protect_task_change(p, BG_PROTECT_SCHED, ret))

BG_PROTECT_HOOK(setscheduler, "task_setscheduler", "security_task_setscheduler", (struct task_struct *p, int ret),
		bg_protect_task_change(p, BG_PROTECT_SCHED, ret))

/* F_SETOWN / F_SETOWN_EX naming the daemon (or its process group): EPERM at once. */
BG_INLINE int bg_protect_on_fcntl(unsigned int cmd, unsigned long arg, int ret)
{
	struct bg_protect_cfg *c;
	struct {
		int type;
		int pid;
	} ex = {};
	int who;

	if (ret || (cmd != BG_F_SETOWN && cmd != BG_F_SETOWN_EX))
		return ret;
	c = bg_protect_guard();
	if (!c)
		return 0;
	if (cmd == BG_F_SETOWN) {
		who = (int)arg;
	} else {
		/* unreadable: file_send_sigiotask still refuses the delivery */
		if (bpf_probe_read_user(&ex, sizeof(ex), (void *)arg))
			return 0;
		if (ex.type != BG_F_OWNER_PID && ex.type != BG_F_OWNER_PGRP && ex.type != 0)
			return 0;
		who = ex.pid;
	}
	if (who < 0)
		who = -who;
	return who && (__u32)who == c->daemon_tgid ? bg_protect_deny(c, BG_PROTECT_SIGIO) : 0;
}

BG_PROTECT_HOOK(fcntl, "file_fcntl", "security_file_fcntl",
		(struct file *file, unsigned int cmd, unsigned long arg, int ret), bg_protect_on_fcntl(cmd, arg, ret))

/* SIGIO/SIGURG (or the signal F_SETSIG chose) toward the daemon: never delivered.
 * The daemon uses no async I/O signals; the caller is not exempt, as the
 * daemon's own write into a socket another process owns can raise it. */
BG_INLINE int bg_protect_on_sigiotask(struct task_struct *tsk, int ret)
{
	struct bg_protect_cfg *c;

	if (ret)
		return ret;
	c = bg_protect_armed();
	return c && bg_protect_is_daemon(c, tsk) ? bg_protect_deny(c, BG_PROTECT_SIGIO) : 0;
}

BG_PROTECT_HOOK(sigiotask, "file_send_sigiotask", "security_file_send_sigiotask",
		(struct task_struct *tsk, struct fown_struct *fown, int sig, int ret),
		bg_protect_on_sigiotask(tsk, ret))

/* The task behind a /proc/<pid>/... inode (the thread's, for task/<tid>/...). */
BG_INLINE struct task_struct *bg_protect_proc_task(struct inode *inode)
{
	struct proc_inode *pi = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);
	struct pid *pid = BPF_CORE_READ(pi, pid);
	struct hlist_node *first;

	if (!pid)
		return 0;
	first = BPF_CORE_READ(pid, tasks[0].first); /* PIDTYPE_PID */
	if (!first)
		return 0;
	return (void *)first - bpf_core_field_offset(struct task_struct, pid_links);
}

/* "oom_score_adj" or "oom_adj" (NUL-terminated in n[14]) */
BG_INLINE int bg_protect_is_oom_file(const char *n)
{
	if (n[0] != 'o' || n[1] != 'o' || n[2] != 'm' || n[3] != '_')
		return 0;
	if (n[4] == 'a' && n[5] == 'd' && n[6] == 'j' && n[7] == 0)
		return 1;
	return n[4] == 's' && n[5] == 'c' && n[6] == 'o' && n[7] == 'r' && n[8] == 'e' && n[9] == '_' &&
	       n[10] == 'a' && n[11] == 'd' && n[12] == 'j' && n[13] == 0;
}

/* oom_score_adj / oom_adj of the daemon opened for writing by another process */
BG_INLINE int bg_protect_on_file_open(struct file *file, int ret)
{
	struct bg_protect_cfg *c;
	struct dentry *d;
	char n[14] = {};

	if (ret || !(BPF_CORE_READ(file, f_mode) & FMODE_WRITE))
		return ret;
	c = bg_protect_guard();
	if (!c)
		return 0;
	d = BPF_CORE_READ(file, f_path.dentry);
	if (BPF_CORE_READ(d, d_sb, s_magic) != BG_PROC_MAGIC)
		return 0;
	bpf_probe_read_kernel_str(n, sizeof(n), BPF_CORE_READ(d, d_name.name));
	if (!bg_protect_is_oom_file(n))
		return 0;
	return bg_protect_is_daemon(c, bg_protect_proc_task(BPF_CORE_READ(file, f_inode)))
		       ? bg_protect_deny(c, BG_PROTECT_OOM)
		       : 0;
}

BG_PROTECT_HOOK(file_open, "file_open", "security_file_open", (struct file *file, int ret),
		bg_protect_on_file_open(file, ret))

/* 6.1 names the kernfs parent `parent`; later kernels `__parent` */
struct kernfs_node___parent {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

BG_INLINE __u64 bg_protect_kn_parent_id(struct kernfs_node *kn)
{
	struct kernfs_node *p;

	if (bpf_core_field_exists(struct kernfs_node___parent, parent))
		p = BPF_CORE_READ((struct kernfs_node___parent *)kn, parent);
	else
		p = BPF_CORE_READ(kn, __parent);
	return p ? BPF_CORE_READ(p, id) : 0;
}

BG_INLINE int bg_protect_cgroup_ours(struct bg_protect_cfg *c, __u64 id)
{
	int i;

	if (!id)
		return 0;
	for (i = 0; i < BG_PROTECT_CGROUPS; i++) {
		if (!c->cgroup_ids[i])
			return 0;
		if (c->cgroup_ids[i] == id)
			return 1;
	}
	return 0;
}

/* Write access to the daemon's cgroup (or an ancestor's) folder or files:
 * cgroup.kill, cgroup.freeze, cgroup.procs (opened, and the migration check on
 * the common ancestor), resource limits, mkdir. Pid 1 is the service manager. */
BG_INLINE int bg_protect_on_inode_permission(struct inode *inode, int mask, int ret)
{
	struct bg_protect_cfg *c;
	struct kernfs_node *kn;

	if (ret || !(mask & BG_MAY_WRITE))
		return ret;
	c = bg_protect_guard();
	if (!c || !c->cgroup_ids[0] || BPF_CORE_READ(inode, i_sb, s_magic) != BG_CGROUP2_MAGIC)
		return 0;
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == 1)
		return 0;
	kn = BPF_CORE_READ(inode, i_private);
	if (!kn)
		return 0;
	if (bg_protect_cgroup_ours(c, BPF_CORE_READ(kn, id)) ||
	    bg_protect_cgroup_ours(c, bg_protect_kn_parent_id(kn)))
		return bg_protect_deny(c, BG_PROTECT_CGROUP);
	return 0;
}

BG_PROTECT_HOOK(inode_permission, "inode_permission", "security_inode_permission",
		(struct inode *inode, int mask, int ret), bg_protect_on_inode_permission(inode, mask, ret))

#endif /* BPFGATE_PROTECT_H */
