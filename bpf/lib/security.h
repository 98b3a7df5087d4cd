/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * The security_* hooks: one function per hook, taking the hook's arguments,
 * that reads what the hook passes (a path from kernel objects, a capability,
 * a command...) and calls its kind's decision function (bpf/kinds/) with the
 * calling program's mechanism and mode. Both programs of a hook call it
 * (security.bpf.c): the BPF-LSM program on lsm/<hook> and the fmod_ret
 * program on the security_<hook> function itself, which gets the same
 * arguments.
 *
 * Paths: bpf_d_path where the calling program's hook is on the kernel's
 * allow-list for its program type (mode has BG_CAN_DPATH: for BPF-LSM
 * bprm_check_security, file_open, kernel_read_file and sb_mount; for fmod_ret
 * only security_file_open), a bounded dentry walk everywhere else (path_*,
 * sb_umount, sb_pivotroot, and the fmod_ret programs but file_open's).
 */
#ifndef BPFGATE_SECURITY_H
#define BPFGATE_SECURITY_H

#include "lib/common.h"
#include "kinds/bpf.h"
#include "kinds/capability.h"
#include "kinds/exec.h"
#include "kinds/file.h"
#include "kinds/module.h"
#include "kinds/mount.h"
#include "kinds/net.h"
#include "kinds/ptrace.h"
#include "kinds/setuid.h"
#include "kinds/socket.h"

/* A security hook has run: from now on it decides its kinds, and sys_enter stands aside. */
#define BG_SEEN_EXEC 1
#define BG_SEEN_SOCKET 2
#define BG_SEEN_LISTEN 3

BG_INLINE void bg_security_seen(int what)
{
	__u32 zero = 0;
	struct bg_runtime_val *rt = bpf_map_lookup_elem(&bg_runtime, &zero);

	if (!rt)
		return;
	if (what == BG_SEEN_EXEC && !rt->lsm_exec_seen)
		rt->lsm_exec_seen = 1;
	if (what == BG_SEEN_SOCKET && !rt->lsm_socket_seen)
		rt->lsm_socket_seen = 1;
	if (what == BG_SEEN_LISTEN && !rt->lsm_listen_seen)
		rt->lsm_listen_seen = 1;
}

/* A struct path as the calling program can build it: bpf_d_path, or the dentry walk (mode: BG_CAN_DPATH). */
BG_INLINE struct bg_path_src bg_src_of(const struct path *path, __u32 mode)
{
	struct bg_path_src src = { .from = (mode & BG_CAN_DPATH) ? BG_FROM_DPATH : BG_FROM_PATH, .path = path };

	return src;
}

BG_INLINE int bg_on_bprm_check(struct linux_binprm *bprm, __u8 mech, __u32 mode)
{
	struct bg_path_src src = bg_src_of(&bprm->file->f_path, mode);
	struct bg_work *w;

	bg_security_seen(BG_SEEN_EXEC);
	w = bg_enter(BG_HEAP_MAIN, BG_KIND_EXEC);
	if (!w)
		return 0;
	/* a path that cannot be built is matched as built (an allowlist still refuses it) */
	bg_path_build(w, &src);
	return bg_exec_decide(w, bprm->file, BG_EXEC_VIA_EXEC, mech, mode);
}

/* A file access on one path. */
BG_INLINE int bg_on_file(struct bg_file_in *in, __u8 mech, __u32 mode)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_FILE);

	return w ? bg_file_decide(w, in, mech, mode) : 0;
}

/*
 * An open with O_TRUNC: the kernel truncates the file after security_file_open,
 * calling security_path_truncate (6.1). The open is one attempt, so file_open
 * decides it as every operation it is (read or write, and truncate) and names
 * them all in one record; the truncate hook that follows in the same call then
 * stands aside for that inode (bg_open_trunc), instead of a second record.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BG_TASKS_MAX);
	__type(key, __u64);   /* the thread: pid_tgid */
	__type(value, __u64); /* the inode its open O_TRUNC was decided on */
} bg_open_trunc SEC(".maps");

BG_INLINE int bg_on_file_open(struct file *file, __u8 mech, __u32 mode)
{
	struct bg_file_in in = { .path = bg_src_of(&file->f_path, mode) };
	__u32 fmode = file->f_mode;
	__u64 tid, inode;
	int ret;

	if (fmode & FMODE_READ)
		in.ops |= BG_FILE_OP(BG_OP_FILE_READ);
	if (fmode & FMODE_WRITE)
		in.ops |= BG_FILE_OP(BG_OP_FILE_WRITE);
	in.arg = BPF_CORE_READ(file, f_flags);
	/* O_TRUNC, even with O_RDONLY, empties the file: a write (the kernel asks for
	 * write permission) and a truncate, as sys_enter reads it too */
	if (in.arg & O_TRUNC)
		in.ops |= BG_FILE_OP(BG_OP_FILE_WRITE) | BG_FILE_OP(BG_OP_FILE_TRUNCATE);
	if (!in.ops)
		return 0;
	ret = bg_on_file(&in, mech, mode);
	if (!ret && (in.arg & O_TRUNC)) {
		tid = bpf_get_current_pid_tgid();
		inode = (__u64)BPF_CORE_READ(file, f_inode);
		bpf_map_update_elem(&bg_open_trunc, &tid, &inode, BPF_ANY);
	}
	return ret;
}

/* A name created or removed in dir (mknod, unlink): ops, BG_FILE_OP() of each operation. */
BG_INLINE int bg_on_path_child(const struct path *dir, struct dentry *dentry, __u32 ops, __u64 arg, __u8 mech,
			       __u32 mode)
{
	struct bg_file_in in = {
		.ops = ops,
		.arg = arg,
		.path = { .from = BG_FROM_CHILD, .path = dir, .dentry = dentry },
	};

	return bg_on_file(&in, mech, mode);
}

/* A change to the file at path (chmod, chown, truncate): ops, BG_FILE_OP() of each operation. */
BG_INLINE int bg_on_path(const struct path *path, __u32 ops, __u64 arg, __u8 mech, __u32 mode)
{
	struct bg_file_in in = { .ops = ops, .arg = arg, .path = { .from = BG_FROM_PATH, .path = path } };

	return bg_on_file(&in, mech, mode);
}

/* truncate, ftruncate, and the truncation of an open O_TRUNC that file_open already decided (skipped: one attempt, one record) */
BG_INLINE int bg_on_path_truncate(const struct path *path, __u8 mech, __u32 mode)
{
	__u64 tid = bpf_get_current_pid_tgid();
	__u64 *opened = bpf_map_lookup_elem(&bg_open_trunc, &tid);

	if (opened) {
		__u64 inode = (__u64)BPF_CORE_READ(path, dentry, d_inode);
		__u64 was = *opened;

		bpf_map_delete_elem(&bg_open_trunc, &tid);
		if (was == inode)
			return 0;
	}
	return bg_on_path(path, BG_FILE_OP(BG_OP_FILE_TRUNCATE), 0, mech, mode);
}

/* Does a new mode give a regular file a setuid or setgid bit? (setgid on a
 * directory only decides the group of new files: not a privilege) */
BG_INLINE __u32 bg_setid_op(umode_t fmode)
{
	return (fmode & (S_ISUID | S_ISGID)) && (fmode & S_IFMT) == S_IFREG ? BG_FILE_OP(BG_OP_FILE_SETID) : 0;
}

/* A file created (mknod, open O_CREAT): setid too when it is created with a setuid or setgid bit. */
BG_INLINE int bg_on_path_mknod(const struct path *dir, struct dentry *dentry, umode_t fmode, __u8 mech,
			       __u32 mode)
{
	return bg_on_path_child(dir, dentry, BG_FILE_OP(BG_OP_FILE_CREATE) | bg_setid_op(fmode), fmode, mech,
				mode);
}

/* chmod, fchmod, fchmodat: setid too when the new mode has a setuid or setgid bit (the
 * hook's mode has no file type: the inode's is used). */
BG_INLINE int bg_on_path_chmod(const struct path *path, umode_t fmode, __u8 mech, __u32 mode)
{
	umode_t type = BPF_CORE_READ(path, dentry, d_inode, i_mode) & S_IFMT;

	return bg_on_path(path, BG_FILE_OP(BG_OP_FILE_CHMOD) | bg_setid_op((fmode & ~S_IFMT) | type), fmode, mech,
			  mode);
}

/* Is the attribute's name security.capability (file capabilities)? */
BG_INLINE int bg_xattr_is_caps(const char *name)
{
	static const char caps[] = "security.capability";
	char got[sizeof(caps) + 1] = {}; /* one more: a longer name reads further than the NUL */

	if (bpf_probe_read_kernel_str(got, sizeof(got), name) != sizeof(caps))
		return 0;
	for (int i = 0; i < (int)sizeof(caps); i++)
		if (got[i] != caps[i])
			return 0;
	return 1;
}

/* setxattr: every attribute is xattr; file capabilities (security.capability) are setcap too. */
BG_INLINE int bg_on_inode_setxattr(struct dentry *dentry, const char *name, __u8 mech, __u32 mode)
{
	struct bg_file_in in = {
		.ops = BG_FILE_OP(BG_OP_FILE_XATTR),
		.path = bg_src_dentry(dentry),
	};

	if (bg_xattr_is_caps(name))
		in.ops |= BG_FILE_OP(BG_OP_FILE_SETCAP);
	return bg_on_file(&in, mech, mode);
}

/* removexattr: xattr (removing file capabilities takes privilege away: not setcap). */
BG_INLINE int bg_on_inode_removexattr(struct dentry *dentry, __u8 mech, __u32 mode)
{
	struct bg_file_in in = {
		.ops = BG_FILE_OP(BG_OP_FILE_XATTR),
		.path = bg_src_dentry(dentry),
	};

	return bg_on_file(&in, mech, mode);
}

/* mkdir and symlink: a name created in dir (decided on dir + the new name, and dir's identity). */
BG_INLINE int bg_on_path_mkdir(const struct path *dir, struct dentry *dentry, umode_t fmode, __u8 mech,
			       __u32 mode)
{
	return bg_on_path_child(dir, dentry, BG_FILE_OP(BG_OP_FILE_MKDIR), fmode, mech, mode);
}

BG_INLINE int bg_on_path_symlink(const struct path *dir, struct dentry *dentry, __u8 mech, __u32 mode)
{
	return bg_on_path_child(dir, dentry, BG_FILE_OP(BG_OP_FILE_SYMLINK), 0, mech, mode);
}

BG_INLINE int bg_on_path_rename(const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir,
				struct dentry *new_dentry, __u8 mech, __u32 mode)
{
	struct bg_file_in in = {
		.ops = BG_FILE_OP(BG_OP_FILE_RENAME),
		.path = { .from = BG_FROM_CHILD, .path = old_dir, .dentry = old_dentry },
		.new_path = { .from = BG_FROM_CHILD, .path = new_dir, .dentry = new_dentry },
	};

	return bg_on_file(&in, mech, mode);
}

BG_INLINE int bg_on_path_link(struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry,
			      __u8 mech, __u32 mode)
{
	struct bg_file_in in = {
		.ops = BG_FILE_OP(BG_OP_FILE_LINK),
		/* a hard link stays on its mount: the old dentry is walked with the new dir's mount */
		.path = { .from = BG_FROM_MNT, .mnt = BPF_CORE_READ(new_dir, mnt), .dentry = old_dentry },
		.new_path = { .from = BG_FROM_CHILD, .path = new_dir, .dentry = new_dentry },
	};

	return bg_on_file(&in, mech, mode);
}

BG_INLINE int bg_on_capable(int cap, unsigned int opts, __u8 mech, __u32 mode)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_CAPABILITY);

	if (!w)
		return 0;
	return bg_capability_decide(w, (__u32)cap, opts & CAP_OPT_NOAUDIT, mech, mode);
}

/* Module loading: from a file (kernel_read_file), whose path the record shows, or from memory. */
BG_INLINE int bg_on_module(__u8 op, const struct bg_path_src *file, __u8 mech, __u32 mode)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_MODULE);

	return w ? bg_module_decide(w, op, file, mech, mode) : 0;
}

BG_INLINE int bg_on_kernel_read_file(struct file *file, __u8 mech, __u32 mode)
{
	struct bg_path_src src = bg_src_of(&file->f_path, mode);

	return bg_on_module(BG_OP_MODULE_FILE, &src, mech, mode);
}

BG_INLINE int bg_on_kernel_load_data(__u8 mech, __u32 mode)
{
	struct bg_path_src none = { .from = BG_FROM_NONE };

	return bg_on_module(BG_OP_MODULE_DATA, &none, mech, mode);
}

BG_INLINE int bg_on_bpf(int cmd, __u8 mech, __u32 mode)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_BPF);

	return w ? bg_bpf_decide(w, (__u32)cmd, mech, mode) : 0;
}

BG_INLINE int bg_on_ptrace(struct task_struct *child, unsigned int pmode, __u8 mech, __u32 mode)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_PTRACE);
	__u8 op = (pmode & PTRACE_MODE_ATTACH) ? BG_OP_PTRACE_ATTACH : BG_OP_PTRACE_READ;

	if (!w)
		return 0;
	return bg_ptrace_decide(w, op, BPF_CORE_READ(child, tgid), mech, mode);
}

/* mount, umount, pivot_root: fstype is the filesystem type's name in kernel memory (or NULL). */
BG_INLINE int bg_on_mount(__u8 op, const char *fstype, __u64 flags, const struct bg_path_src *at, __u8 mech,
			  __u32 mode)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_MOUNT);

	if (!w)
		return 0;
	w->aux[0] = 0;
	if (fstype && bpf_probe_read_kernel_str(w->aux, sizeof(w->aux), fstype) < 0)
		w->aux[0] = 0;
	return bg_mount_decide(w, op, flags, at, mech, mode);
}

/*
 * mount(2), every form of it (path_mount's order): a remount or a propagation
 * change acts on the target's superblock; a bind or a move names its source
 * by a string the kernel looks up after this hook (no later hook sees it):
 * its type is not known here, decided fail closed; a new mount creates a
 * superblock of the type the string names, up to its first '.' (get_fs_type).
 */
BG_INLINE int bg_on_sb_mount(const struct path *path, const char *type, unsigned long flags, __u8 mech,
			     __u32 mode)
{
	struct bg_path_src at = bg_src_of(path, mode);
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_MOUNT);
	/* acts on the target's superblock: a remount, else (no bind) a propagation change */
	int on_target = (flags & BG_MS_REMOUNT) || (!(flags & BG_MS_BIND) && (flags & BG_MS_PROPAGATION));
	const char *name = on_target ? BPF_CORE_READ(path, mnt, mnt_sb, s_type, name) : type;
	__u32 h;

	if (!w)
		return 0;
	w->aux[0] = 0;
	if (!on_target && (flags & (BG_MS_BIND | BG_MS_MOVE)))
		return bg_mount_decide_as(w, BG_OP_MOUNT_MOUNT, BG_MOUNT_TYPE_UNRESOLVED, BG_EV_F_UNRESOLVED, flags, 0,
					  &at, mech, mode);
	if (name && bpf_probe_read_kernel_str(w->aux, sizeof(w->aux), name) < 0)
		w->aux[0] = 0;
	for (int i = 0; i < (int)sizeof(w->aux); i++) {
		if (!w->aux[i])
			break;
		if (w->aux[i] == '.') {
			w->aux[i] = 0;
			break;
		}
	}
	h = w->aux[0] ? bg_fnv1a32(w->aux, sizeof(w->aux)) : BG_ANY;
	return bg_mount_decide_as(w, BG_OP_MOUNT_MOUNT, h, 0, flags, 0, &at, mech, mode);
}

/*
 * move_mount(2): attaching what fsopen/fsconfig/fsmount made, or a clone from
 * open_tree(OPEN_TREE_CLONE), or moving a mount; decided as a mount of the
 * moved mount's superblock type, at the new place.
 */
BG_INLINE int bg_on_move_mount(const struct path *from_path, const struct path *to_path, __u8 mech, __u32 mode)
{
	struct bg_path_src at = { .from = BG_FROM_PATH, .path = to_path };
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_MOUNT);
	__u32 h;

	if (!w)
		return 0;
	if (bpf_probe_read_kernel_str(w->aux, sizeof(w->aux), BPF_CORE_READ(from_path, mnt, mnt_sb, s_type, name)) < 0)
		w->aux[0] = 0;
	h = w->aux[0] ? bg_fnv1a32(w->aux, sizeof(w->aux)) : BG_ANY;
	return bg_mount_decide_as(w, BG_OP_MOUNT_MOUNT, h, 0, 0, BG_MOUNT_VIA_MOVE_MOUNT, &at, mech, mode);
}

BG_INLINE int bg_on_sb_umount(struct vfsmount *mnt, int flags, __u8 mech, __u32 mode)
{
	struct bg_path_src at = { .from = BG_FROM_MNT, .mnt = mnt, .dentry = BPF_CORE_READ(mnt, mnt_root) };

	return bg_on_mount(BG_OP_MOUNT_UMOUNT, BPF_CORE_READ(mnt, mnt_sb, s_type, name), (__u32)flags, &at, mech,
			   mode);
}

BG_INLINE int bg_on_sb_pivotroot(const struct path *new_path, __u8 mech, __u32 mode)
{
	struct bg_path_src at = { .from = BG_FROM_PATH, .path = new_path };

	return bg_on_mount(BG_OP_MOUNT_PIVOT_ROOT, 0, 0, &at, mech, mode);
}

/*
 * setuid, setreuid, setresuid, setfsuid (task_fix_setuid) and their gid twins
 * (task_fix_setgid): the four ids of the new credentials against the old
 * ones, so that an id the call leaves as it is never counts, and a saved or
 * fs id that becomes 0 does.
 */
#define BG_ON_FIX_SETID(fn, root_op, r, e, s, fs)                                                          \
	BG_INLINE int fn(struct cred *new, const struct cred *old, __u8 mech, __u32 mode)                  \
	{                                                                                               \
		struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_SETUID);                               \
		__u32 nr = BPF_CORE_READ(new, r.val), ne = BPF_CORE_READ(new, e.val);                      \
		__u32 ns = BPF_CORE_READ(new, s.val), nfs = BPF_CORE_READ(new, fs.val);                    \
		__u32 or = BPF_CORE_READ(old, r.val);                                                      \
		int to_root = BG_BECOMES_ROOT(or, nr) || BG_BECOMES_ROOT(BPF_CORE_READ(old, e.val), ne) ||     \
			      BG_BECOMES_ROOT(BPF_CORE_READ(old, s.val), ns) ||                                \
			      BG_BECOMES_ROOT(BPF_CORE_READ(old, fs.val), nfs);                                \
                                                                                                        \
		if (!w)                                                                                 \
			return 0;                                                                       \
		return bg_setid_decide(w, root_op, to_root, or, nr, ne, (__u64)(__u32)~ns | (__u64)(__u32)~nfs << 32, \
				       mech, mode);                                                     \
	}

BG_ON_FIX_SETID(bg_on_task_fix_setuid, BG_OP_SETUID_ROOT, uid, euid, suid, fsuid)
BG_ON_FIX_SETID(bg_on_task_fix_setgid, BG_OP_SETUID_GID_ROOT, gid, egid, sgid, fsgid)

/* Is group 0 among the supplementary groups? The kernel sorts them before the
 * hook (groups_sort in setgroups), so 0 can only be the first. */
BG_INLINE int bg_groups_root(const struct cred *cred)
{
	struct group_info *gi = BPF_CORE_READ(cred, group_info);
	__u32 g0 = 1;

	if (!gi || BPF_CORE_READ(gi, ngroups) <= 0)
		return 0;
	bpf_core_read(&g0, sizeof(g0), &gi->gid[0]);
	return g0 == 0;
}

/* setgroups (task_fix_setgroups) */
BG_INLINE int bg_on_task_fix_setgroups(struct cred *new, const struct cred *old, __u8 mech, __u32 mode)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_SETUID);
	int root = bg_groups_root(new);

	if (!w)
		return 0;
	return bg_setid_decide(w, BG_OP_SETUID_GROUPS_ROOT, root && !bg_groups_root(old),
			       (__u32)BPF_CORE_READ(old, group_info, ngroups),
			       (__u32)BPF_CORE_READ(new, group_info, ngroups), root, 0, mech, mode);
}

/* A capability set (kernel_cap_t: two __u32 words to 6.2, one __u64 from 6.3: the same 8 bytes). */
BG_INLINE __u64 bg_caps(const void *set)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), set);
	return v;
}

/* capset: a gain is a capability new in the effective or the permitted set. */
BG_INLINE int bg_on_capset(const struct cred *old, const void *effective, const void *permitted, __u8 mech,
			   __u32 mode)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_SETUID);
	__u64 oe = bg_caps(&old->cap_effective), op = bg_caps(&old->cap_permitted);
	__u64 ne = bg_caps(effective), np = bg_caps(permitted);

	if (!w)
		return 0;
	return bg_setid_decide(w, BG_OP_SETUID_CAPABILITIES_ROOT, (ne & ~oe) || (np & ~op), oe, ne, op, np, mech, mode);
}

/* unshare(CLONE_NEWUSER), clone(CLONE_NEWUSER) (userns_create): its creator holds every capability in it. */
BG_INLINE int bg_on_userns_create(const struct cred *cred, __u8 mech, __u32 mode)
{
	struct bg_work *w = bg_enter(BG_HEAP_MAIN, BG_KIND_SETUID);

	if (!w)
		return 0;
	return bg_setid_decide(w, BG_OP_SETUID_USERNS_ROOT, 1, BPF_CORE_READ(cred, euid.val), 0, 0, 0, mech, mode);
}

/* Sockets of every family. Sockets the kernel makes for itself (kern) are not the caller's. */
BG_INLINE int bg_on_socket_create(int family, int type, int protocol, int kern, __u8 mech, __u32 mode)
{
	struct bg_work *w;

	bg_security_seen(BG_SEEN_SOCKET);
	if (kern)
		return 0;
	w = bg_enter(BG_HEAP_MAIN, BG_KIND_SOCKET);
	if (!w)
		return 0;
	return bg_socket_decide(w, (__u32)family, (__u32)type & BG_SOCK_TYPE_MASK, (__u32)protocol, mech, mode);
}

/* listen(): a socket that was never bound is decided as a bind (kinds/net.h). */
BG_INLINE int bg_on_socket_listen(struct socket *sock, __u8 mech, __u32 mode)
{
	struct bg_work *w;

	bg_security_seen(BG_SEEN_LISTEN);
	w = bg_enter(BG_HEAP_MAIN, BG_KIND_BIND);
	return w ? bg_net_listen(w, sock, mech, mode) : 0;
}

/*
 * A file mapped executable (mmap with PROT_EXEC, or mprotect adding it to a
 * file's mapping), decided as an exec of the file by exec rules, without the
 * allowlists' posture (every library would miss it): the dynamic loader run
 * on a blocked program, a loader of the intruder's own. The executable the
 * process runs is not decided again: it was at its exec (bprm_check), and the
 * kernel maps it during that exec.
 */
BG_INLINE int bg_on_exec_map(struct file *file, const struct bg_path_src *src, __u8 via, __u8 mech, __u32 mode)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct bg_work *w;

	if (BPF_CORE_READ(file, f_inode) == BPF_CORE_READ(task, mm, exe_file, f_inode))
		return 0;
	w = bg_enter(BG_HEAP_MAIN, BG_KIND_EXEC);
	if (!w)
		return 0;
	bg_path_build(w, src);
	return bg_exec_decide(w, file, via, mech, mode | BG_NO_DEFAULT);
}

/* The prot a mapping gets from the one asked for: a process with the
 * READ_IMPLIES_EXEC personality gets PROT_EXEC with PROT_READ (mm/mmap.c). */
#define BG_PROT_READ 0x1
#define BG_READ_IMPLIES_EXEC 0x0400000
BG_INLINE unsigned long bg_mmap_prot(unsigned long prot)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if ((prot & BG_PROT_READ) && (BPF_CORE_READ(task, personality) & BG_READ_IMPLIES_EXEC))
		return prot | BG_PROT_EXEC;
	return prot;
}

/* mmap_file: the file is NULL for anonymous memory; prot is what the mapping gets (READ_IMPLIES_EXEC included). */
BG_INLINE int bg_on_mmap_file(struct file *file, unsigned long prot, __u8 mech, __u32 mode)
{
	struct bg_path_src src;

	if (!file || !(prot & BG_PROT_EXEC))
		return 0;
	src = bg_src_of(&file->f_path, mode);
	return bg_on_exec_map(file, &src, BG_EXEC_VIA_MMAP, mech, mode);
}

/* file_mprotect: only a file's mapping that was not executable and becomes so (the dentry walk: no bpf_d_path here). */
BG_INLINE int bg_on_file_mprotect(struct vm_area_struct *vma, unsigned long prot, __u8 mech, __u32 mode)
{
	struct file *file = BPF_CORE_READ(vma, vm_file);
	struct bg_path_src src = { .from = BG_FROM_PATH };

	if (!file || !(prot & BG_PROT_EXEC) || (BPF_CORE_READ(vma, vm_flags) & BG_VM_EXEC))
		return 0;
	src.path = &file->f_path;
	return bg_on_exec_map(file, &src, BG_EXEC_VIA_MPROTECT, mech, mode);
}

#endif /* BPFGATE_SECURITY_H */
