// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * The security_* hooks, each attached two ways with one body:
 *
 *   bg_lsm_<name>  SEC("lsm/<hook>")            BPF-LSM (where bpf is an active LSM)
 *   bg_fmr_<name>  SEC("fmod_ret/security_<..>") fmod_ret on the security_* function
 *                                              itself, for kernels where BPF-LSM is
 *                                              compiled in but not active: the kernel
 *                                              allows fmod_ret on every security_*
 *                                              function, active LSM or not
 *
 * Both deny with -EPERM before the action happens (a non-zero return skips the
 * function: the other LSMs and the action itself), and kill when asked
 * (SIGKILL and -EPERM). Both hand the hook's arguments to the hook's reader in
 * lib/security.h with their own mechanism (MECH) and mode (MODE), and the
 * reader calls the kind's decision function (bpf/kinds/): the decision is
 * written once. A non-zero `ret` (an earlier program on the hook denied) is
 * passed through unchanged.
 *
 * Which program runs is the loader's choice (src/abi/programs.ts, the
 * compiler's ladder): the BPF-LSM one where BPF-LSM is active, else the
 * fmod_ret one where the kernel's BTF has the function.
 */
#include "lib/common.h"
#include "lib/security.h"

#define LSM_MODE (BG_CAN_DENY | BG_CAN_KILL | BG_CAN_DPATH)
#define FMR_MODE (BG_CAN_DENY | BG_CAN_KILL)
/* security_file_open is on the bpf_d_path allow-list of tracing programs; no other function here is */
#define FMR_MODE_DPATH (FMR_MODE | BG_CAN_DPATH)

#define BG_ARGS(...) __VA_ARGS__

/* One program: `body` runs with the program's mechanism and mode as MECH and MODE. */
#define BG_HOOK_PROG(sec, prog, mech, mode, params, body)                            \
	SEC(sec)                                                                       \
	int BPF_PROG(prog, BG_ARGS params)                                             \
	{                                                                              \
		const __u8 MECH = mech;                                                \
		const __u32 MODE = mode;                                               \
		return body;                                                           \
	}

/*
 * One hook, two programs: `params` is the hook's parameter list in
 * parentheses, `body` one expression over them, MECH and MODE.
 */
#define BG_SECURITY_HOOK(name, hook, fn, fmr_mode, params, body)                              \
	BG_HOOK_PROG("lsm/" hook, bg_lsm_##name, BG_MECH_LSM, LSM_MODE, params, body)           \
	BG_HOOK_PROG("fmod_ret/" fn, bg_fmr_##name, BG_MECH_FMOD_RET, fmr_mode, params, body)

/* The same, where the security_* function's parameters are not the hook's: `fn_params` and `fn_body` for it. */
#define BG_SECURITY_HOOK_SPLIT(name, hook, fn, fmr_mode, params, body, fn_params, fn_body)           \
	BG_HOOK_PROG("lsm/" hook, bg_lsm_##name, BG_MECH_LSM, LSM_MODE, params, body)                   \
	BG_HOOK_PROG("fmod_ret/" fn, bg_fmr_##name, BG_MECH_FMOD_RET, fmr_mode, fn_params, fn_body)

BG_SECURITY_HOOK(bprm_check, "bprm_check_security", "security_bprm_check", FMR_MODE,
		 (struct linux_binprm *bprm, int ret), ret ? ret : bg_on_bprm_check(bprm, MECH, MODE))

BG_SECURITY_HOOK(file_open, "file_open", "security_file_open", FMR_MODE_DPATH, (struct file *file, int ret),
		 ret ? ret : bg_on_file_open(file, MECH, MODE))

BG_SECURITY_HOOK(path_mknod, "path_mknod", "security_path_mknod", FMR_MODE,
		 (const struct path *dir, struct dentry *dentry, umode_t mode, unsigned int dev, int ret),
		 ret ? ret : bg_on_path_mknod(dir, dentry, mode, MECH, MODE))

BG_SECURITY_HOOK(path_unlink, "path_unlink", "security_path_unlink", FMR_MODE,
		 (const struct path *dir, struct dentry *dentry, int ret),
		 ret ? ret : bg_on_path_child(dir, dentry, BG_FILE_OP(BG_OP_FILE_UNLINK), 0, MECH, MODE))

BG_SECURITY_HOOK(path_rename, "path_rename", "security_path_rename", FMR_MODE,
		 (const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir,
		  struct dentry *new_dentry, unsigned int flags, int ret),
		 ret ? ret : bg_on_path_rename(old_dir, old_dentry, new_dir, new_dentry, MECH, MODE))

BG_SECURITY_HOOK(path_link, "path_link", "security_path_link", FMR_MODE,
		 (struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry, int ret),
		 ret ? ret : bg_on_path_link(old_dentry, new_dir, new_dentry, MECH, MODE))

BG_SECURITY_HOOK(path_chmod, "path_chmod", "security_path_chmod", FMR_MODE,
		 (const struct path *path, umode_t mode, int ret),
		 ret ? ret : bg_on_path_chmod(path, mode, MECH, MODE))

BG_SECURITY_HOOK(path_chown, "path_chown", "security_path_chown", FMR_MODE,
		 (const struct path *path, unsigned int uid, unsigned int gid, int ret),
		 ret ? ret : bg_on_path(path, BG_FILE_OP(BG_OP_FILE_CHOWN), ((__u64)gid << 32) | uid, MECH, MODE))

BG_SECURITY_HOOK(path_truncate, "path_truncate", "security_path_truncate", FMR_MODE,
		 (const struct path *path, int ret), ret ? ret : bg_on_path_truncate(path, MECH, MODE))

BG_SECURITY_HOOK(path_mkdir, "path_mkdir", "security_path_mkdir", FMR_MODE,
		 (const struct path *dir, struct dentry *dentry, umode_t mode, int ret),
		 ret ? ret : bg_on_path_mkdir(dir, dentry, mode, MECH, MODE))

BG_SECURITY_HOOK(path_symlink, "path_symlink", "security_path_symlink", FMR_MODE,
		 (const struct path *dir, struct dentry *dentry, const char *old_name, int ret),
		 ret ? ret : bg_on_path_symlink(dir, dentry, MECH, MODE))

/* The first parameter is a struct user_namespace * on 6.1 and a struct mnt_idmap * from 6.3:
 * it is not read. A 0 return lets the kernel's own checks run (the trampoline then calls
 * the hook's default, whose 1 sends security_inode_setxattr on to cap_inode_setxattr). */
BG_SECURITY_HOOK(inode_setxattr, "inode_setxattr", "security_inode_setxattr", FMR_MODE,
		 (void *idmap, struct dentry *dentry, const char *name, const void *value, size_t size, int flags,
		  int ret),
		 ret ? ret : bg_on_inode_setxattr(dentry, name, MECH, MODE))

/* The same first parameter as inode_setxattr. A 0 return lets the kernel's own checks run. */
BG_SECURITY_HOOK(inode_removexattr, "inode_removexattr", "security_inode_removexattr", FMR_MODE,
		 (void *idmap, struct dentry *dentry, const char *name, int ret),
		 ret ? ret : bg_on_inode_removexattr(dentry, MECH, MODE))

BG_SECURITY_HOOK(capable, "capable", "security_capable", FMR_MODE,
		 (const struct cred *cred, struct user_namespace *ns, int cap, unsigned int opts, int ret),
		 ret ? ret : bg_on_capable(cap, opts, MECH, MODE))

BG_SECURITY_HOOK(kernel_read_file, "kernel_read_file", "security_kernel_read_file", FMR_MODE,
		 (struct file *file, enum kernel_read_file_id id, bool contents, int ret),
		 ret || id != READING_MODULE ? ret : bg_on_kernel_read_file(file, MECH, MODE))

BG_SECURITY_HOOK(kernel_load_data, "kernel_load_data", "security_kernel_load_data", FMR_MODE,
		 (enum kernel_load_data_id id, bool contents, int ret),
		 ret || id != LOADING_MODULE ? ret : bg_on_kernel_load_data(MECH, MODE))

/* The hook's argument list grew after 6.1 (a trailing `kernel` flag), so `ret`
 * is not read here: only the command is. */
BG_SECURITY_HOOK(bpf, "bpf", "security_bpf", FMR_MODE, (int cmd), bg_on_bpf(cmd, MECH, MODE))

BG_SECURITY_HOOK(ptrace, "ptrace_access_check", "security_ptrace_access_check", FMR_MODE,
		 (struct task_struct *child, unsigned int mode, int ret),
		 ret ? ret : bg_on_ptrace(child, mode, MECH, MODE))

BG_SECURITY_HOOK(sb_mount, "sb_mount", "security_sb_mount", FMR_MODE,
		 (const char *dev_name, const struct path *path, const char *type, unsigned long flags, void *data,
		  int ret),
		 ret ? ret : bg_on_sb_mount(path, type, flags, MECH, MODE))

/* move_mount(2): the new mount API's attach (fsmount, open_tree clones) and moves */
BG_SECURITY_HOOK(move_mount, "move_mount", "security_move_mount", FMR_MODE,
		 (const struct path *from_path, const struct path *to_path, int ret),
		 ret ? ret : bg_on_move_mount(from_path, to_path, MECH, MODE))

BG_SECURITY_HOOK(sb_umount, "sb_umount", "security_sb_umount", FMR_MODE,
		 (struct vfsmount *mnt, int flags, int ret), ret ? ret : bg_on_sb_umount(mnt, flags, MECH, MODE))

BG_SECURITY_HOOK(sb_pivotroot, "sb_pivotroot", "security_sb_pivotroot", FMR_MODE,
		 (const struct path *old_path, const struct path *new_path, int ret),
		 ret ? ret : bg_on_sb_pivotroot(new_path, MECH, MODE))

BG_SECURITY_HOOK(task_fix_setuid, "task_fix_setuid", "security_task_fix_setuid", FMR_MODE,
		 (struct cred *new, const struct cred *old, int flags, int ret),
		 ret ? ret : bg_on_task_fix_setuid(new, old, MECH, MODE))

BG_SECURITY_HOOK(task_fix_setgid, "task_fix_setgid", "security_task_fix_setgid", FMR_MODE,
		 (struct cred *new, const struct cred *old, int flags, int ret),
		 ret ? ret : bg_on_task_fix_setgid(new, old, MECH, MODE))

BG_SECURITY_HOOK(task_fix_setgroups, "task_fix_setgroups", "security_task_fix_setgroups", FMR_MODE,
		 (struct cred *new, const struct cred *old, int ret),
		 ret ? ret : bg_on_task_fix_setgroups(new, old, MECH, MODE))

/* kernel_cap_t is read as 8 bytes (lib/security.h bg_caps): its layout changed in 6.3, its size did not. */
BG_SECURITY_HOOK(capset, "capset", "security_capset", FMR_MODE,
		 (struct cred *new, const struct cred *old, const kernel_cap_t *effective,
		  const kernel_cap_t *inheritable, const kernel_cap_t *permitted, int ret),
		 ret ? ret : bg_on_capset(old, effective, permitted, MECH, MODE))

/* The function behind lsm/userns_create is security_create_user_ns. */
BG_SECURITY_HOOK(userns_create, "userns_create", "security_create_user_ns", FMR_MODE,
		 (const struct cred *cred, int ret), ret ? ret : bg_on_userns_create(cred, MECH, MODE))

/* The first call marks bg_runtime.lsm_socket_seen, before any scope check, so
 * that bg_tp_sys_enter leaves socket rules to this hook from then on. */
BG_SECURITY_HOOK(socket_create, "socket_create", "security_socket_create", FMR_MODE,
		 (int family, int type, int protocol, int kern, int ret),
		 ret ? ret : bg_on_socket_create(family, type, protocol, kern, MECH, MODE))

/* listen() on a socket never bound (the kernel picks the port), decided as a
 * bind; the first call marks bg_runtime.lsm_listen_seen: bg_tp_sys_listen
 * leaves listen() to this hook from then on. */
BG_SECURITY_HOOK(socket_listen, "socket_listen", "security_socket_listen", FMR_MODE,
		 (struct socket *sock, int backlog, int ret), ret ? ret : bg_on_socket_listen(sock, MECH, MODE))

/* exec rules on executable mappings (lib/security.h bg_on_exec_map). mmap_file
 * is on BPF-LSM's bpf_d_path allow-list, file_mprotect is not (it walks). The
 * function security_mmap_file takes the prot the caller asked for, the hook
 * the prot the mapping gets: the fmod_ret program adds READ_IMPLIES_EXEC. */
BG_SECURITY_HOOK_SPLIT(mmap_file, "mmap_file", "security_mmap_file", FMR_MODE,
		       (struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags, int ret),
		       ret ? ret : bg_on_mmap_file(file, prot, MECH, MODE),
		       (struct file *file, unsigned long prot, unsigned long flags, int ret),
		       ret ? ret : bg_on_mmap_file(file, bg_mmap_prot(prot), MECH, MODE))

BG_SECURITY_HOOK(file_mprotect, "file_mprotect", "security_file_mprotect", FMR_MODE,
		 (struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot, int ret),
		 ret ? ret : bg_on_file_mprotect(vma, prot, MECH, MODE))

/*
 * The probe of the fmod_ret rung (src/kernel/probe.ts): attached for an
 * instant to security_sb_statfs, which nothing hot calls, it denies statfs
 * to the children of one process (bg_probe_parent, set before load) and to
 * nobody else; the probe forks a child that calls statfs and expects EPERM.
 */
const volatile __u32 bg_probe_parent = 0;

SEC("fmod_ret/security_sb_statfs")
int BPF_PROG(bg_fmr_probe, struct dentry *dentry, int ret)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (ret || !bg_probe_parent)
		return ret;
	return BPF_CORE_READ(task, real_parent, tgid) == bg_probe_parent ? -EPERM : 0;
}

/* self-protection: armed by the daemon with --protect */
#include "lib/protect.h"

/*
 * The SHA-256 of the file an exec runs, for exceptions by content alone (lib/abi.h,
 * bg_exe_contents): after the point of no return, so the exec completes; sleepable, as
 * bpf_ima_file_hash reads the file. Never denies (the hook returns nothing). Attached only
 * while the set has such an exception. The result is kept by identity while the change time
 * and size stay (the file cannot be written while it is being executed; any write since moves
 * the change time). No per-CPU scratch: the program may sleep.
 */
SEC("lsm.s/bprm_committed_creds")
int BPF_PROG(bg_lsm_exe_content, struct linux_binprm *bprm)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct bg_content_cache_val fresh = {};
	struct bg_content_cache_val *cached;
	struct bg_file_id_key ik = {};
	struct bg_content_key ck = {};
	struct file *file = bprm->file;
	struct inode *inode;
	__u32 *id;

	bpf_map_delete_elem(&bg_task_content, &tgid);
	if (!file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	if (!inode)
		return 0;
	ik.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	ik.ino = BPF_CORE_READ(inode, i_ino);
	bg_inode_ctime(inode, &fresh.ctime_sec, &fresh.ctime_nsec);
	fresh.size = BPF_CORE_READ(inode, i_size);
	cached = bpf_map_lookup_elem(&bg_content_cache, &ik);
	if (cached && cached->ctime_sec == fresh.ctime_sec && cached->ctime_nsec == fresh.ctime_nsec &&
	    cached->size == fresh.size) {
		__builtin_memcpy(ck.sha256, cached->sha256, sizeof(ck.sha256));
	} else {
		/* IMA's hash of the file: its algorithm's id, which must be SHA-256 (Debian's default) */
		if (bpf_ima_file_hash(file, fresh.sha256, sizeof(fresh.sha256)) != HASH_ALGO_SHA256)
			return 0;
		bpf_map_update_elem(&bg_content_cache, &ik, &fresh, BPF_ANY);
		__builtin_memcpy(ck.sha256, fresh.sha256, sizeof(ck.sha256));
	}
	id = bpf_map_lookup_elem(&bg_exe_contents, &ck);
	if (id)
		bpf_map_update_elem(&bg_task_content, &tgid, id, BPF_ANY);
	return 0;
}
