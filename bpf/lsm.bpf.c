// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * BPF-LSM hooks: deny with -EPERM before the action happens, kill when asked
 * (SIGKILL and -EPERM). A non-zero `ret` (an earlier BPF-LSM program denied)
 * is passed through unchanged. Each program hands its hook's arguments to
 * the hook's function in lib/security.h, which reads the hook's inputs and
 * calls the kind's decision function (bpf/kinds/).
 */
#include "lib/common.h"
#include "lib/security.h"

#define LSM_MECH BG_MECH_LSM
#define LSM_MODE (BG_CAN_DENY | BG_CAN_KILL)

SEC("lsm/bprm_check_security")
int BPF_PROG(bg_lsm_bprm_check, struct linux_binprm *bprm, int ret)
{
	return ret ? ret : bg_on_bprm_check(bprm, LSM_MECH, LSM_MODE);
}

SEC("lsm/file_open")
int BPF_PROG(bg_lsm_file_open, struct file *file, int ret)
{
	return ret ? ret : bg_on_file_open(file, LSM_MECH, LSM_MODE);
}

SEC("lsm/path_mknod")
int BPF_PROG(bg_lsm_path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode, unsigned int dev,
	     int ret)
{
	return ret ? ret : bg_on_path_child(dir, dentry, BG_OP_FILE_CREATE, mode, LSM_MECH, LSM_MODE);
}

SEC("lsm/path_unlink")
int BPF_PROG(bg_lsm_path_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	return ret ? ret : bg_on_path_child(dir, dentry, BG_OP_FILE_UNLINK, 0, LSM_MECH, LSM_MODE);
}

SEC("lsm/path_rename")
int BPF_PROG(bg_lsm_path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	return ret ? ret : bg_on_path_rename(old_dir, old_dentry, new_dir, new_dentry, LSM_MECH, LSM_MODE);
}

SEC("lsm/path_link")
int BPF_PROG(bg_lsm_path_link, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, int ret)
{
	return ret ? ret : bg_on_path_link(old_dentry, new_dir, new_dentry, LSM_MECH, LSM_MODE);
}

SEC("lsm/path_chmod")
int BPF_PROG(bg_lsm_path_chmod, const struct path *path, umode_t mode, int ret)
{
	return ret ? ret : bg_on_path(path, BG_OP_FILE_CHMOD, mode, LSM_MECH, LSM_MODE);
}

SEC("lsm/path_chown")
int BPF_PROG(bg_lsm_path_chown, const struct path *path, unsigned int uid, unsigned int gid, int ret)
{
	return ret ? ret : bg_on_path(path, BG_OP_FILE_CHOWN, ((__u64)gid << 32) | uid, LSM_MECH, LSM_MODE);
}

SEC("lsm/path_truncate")
int BPF_PROG(bg_lsm_path_truncate, const struct path *path, int ret)
{
	return ret ? ret : bg_on_path(path, BG_OP_FILE_TRUNCATE, 0, LSM_MECH, LSM_MODE);
}

SEC("lsm/capable")
int BPF_PROG(bg_lsm_capable, const struct cred *cred, struct user_namespace *ns, int cap, unsigned int opts,
	     int ret)
{
	return ret ? ret : bg_on_capable(cap, opts, LSM_MECH, LSM_MODE);
}

SEC("lsm/kernel_read_file")
int BPF_PROG(bg_lsm_kernel_read_file, struct file *file, enum kernel_read_file_id id, bool contents, int ret)
{
	if (ret || id != READING_MODULE)
		return ret;
	return bg_on_kernel_read_file(file, LSM_MECH, LSM_MODE);
}

SEC("lsm/kernel_load_data")
int BPF_PROG(bg_lsm_kernel_load_data, enum kernel_load_data_id id, bool contents, int ret)
{
	if (ret || id != LOADING_MODULE)
		return ret;
	return bg_on_kernel_load_data(LSM_MECH, LSM_MODE);
}

/* The hook's argument list grew after 6.1 (a trailing `kernel` flag), so `ret`
 * is not read here: only the command is. */
SEC("lsm/bpf")
int BPF_PROG(bg_lsm_bpf, int cmd)
{
	return bg_on_bpf(cmd, LSM_MECH, LSM_MODE);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(bg_lsm_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	return ret ? ret : bg_on_ptrace(child, mode, LSM_MECH, LSM_MODE);
}

SEC("lsm/sb_mount")
int BPF_PROG(bg_lsm_sb_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data, int ret)
{
	return ret ? ret : bg_on_sb_mount(path, type, flags, LSM_MECH, LSM_MODE);
}

SEC("lsm/sb_umount")
int BPF_PROG(bg_lsm_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	return ret ? ret : bg_on_sb_umount(mnt, flags, LSM_MECH, LSM_MODE);
}

SEC("lsm/sb_pivotroot")
int BPF_PROG(bg_lsm_sb_pivotroot, const struct path *old_path, const struct path *new_path, int ret)
{
	return ret ? ret : bg_on_sb_pivotroot(new_path, LSM_MECH, LSM_MODE);
}

SEC("lsm/task_fix_setuid")
int BPF_PROG(bg_lsm_task_fix_setuid, struct cred *new, const struct cred *old, int flags, int ret)
{
	return ret ? ret : bg_on_task_fix_setuid(new, old, LSM_MECH, LSM_MODE);
}

/* The first call marks bg_runtime.lsm_socket_seen, before any scope check, so
 * that bg_tp_sys_enter leaves socket rules to this program from then on. */
SEC("lsm/socket_create")
int BPF_PROG(bg_lsm_socket_create, int family, int type, int protocol, int kern, int ret)
{
	return ret ? ret : bg_on_socket_create(family, type, protocol, kern, LSM_MECH, LSM_MODE);
}

/* The first call marks bg_runtime.lsm_listen_seen: bg_tp_sys_enter leaves listen() to it from then on. */
SEC("lsm/socket_listen")
int BPF_PROG(bg_lsm_socket_listen, struct socket *sock, int backlog, int ret)
{
	return ret ? ret : bg_on_socket_listen(sock, LSM_MECH, LSM_MODE);
}

/* self-protection: armed by the daemon with --protect */
#include "lib/protect.h"
