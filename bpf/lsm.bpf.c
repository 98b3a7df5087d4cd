// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * BPF-LSM hooks: deny with -EPERM before the action happens, kill when asked
 * (SIGKILL and -EPERM). A non-zero `ret` (an earlier BPF-LSM program denied)
 * is passed through unchanged.
 *
 * Paths: bpf_d_path where the hook is on the kernel's allow-list
 * (bprm_check_security, file_open, kernel_read_file, sb_mount); a bounded
 * dentry walk everywhere else (path_*, sb_umount, sb_pivotroot).
 */
#include "lib/common.h"

#define LSM_CTX BG_CTX_TASK
#define LSM_MODE (BG_CAN_DENY | BG_CAN_KILL)

/* Enter a hook: scratch, scope, and is the kind in use by any slot in scope? */
BG_INLINE struct bg_work *bg_lsm_enter(struct bg_gen_config **cfg, __u32 kind)
{
	struct bg_work *w = bg_work_get(BG_HEAP_MAIN);

	if (!w || !bg_scope(w, cfg, LSM_CTX) || !*cfg)
		return 0;
	if (!(w->scope & (*cfg)->kind_slots[kind & (BG_KIND_MAX - 1)]))
		return 0;
	return w;
}

/* Where the record's path comes from. */
#define BG_REC_NONE 0
#define BG_REC_PATH 1 /* w's built path */
#define BG_REC_EXE 2  /* the acting executable */

/* Act on w's decision and report it. Returns the hook's return value. */
BG_INLINE int bg_lsm_finish(struct bg_work *w, __u8 kind, __u8 op, int rec, __u64 a0, __u64 a1,
			    __u64 a2, __u64 a3)
{
	struct bg_verdict vd = bg_act(w, LSM_MODE);
	struct bg_event *e;

	if (w->action < BG_ACT_AUDIT)
		return 0;
	e = bg_event_new(w, kind, op, BG_MECH_LSM, &vd, LSM_CTX);
	if (e) {
		e->arg[0] = a0;
		e->arg[1] = a1;
		e->arg[2] = a2;
		e->arg[3] = a3;
		if (rec == BG_REC_PATH)
			bg_event_path(w, e);
		else if (rec == BG_REC_EXE)
			bg_event_exe(w, e, LSM_CTX);
		bg_event_submit(e);
	}
	return vd.ret;
}

/* Match the built path for one file op, keeping the best. */
BG_INLINE void bg_lsm_file_op(struct bg_work *w, struct bg_gen_config *cfg, struct bg_best *best, __u8 op,
			      __u8 which)
{
	bg_path_to_key(w, &w->pkey);
	bg_key_path(w, BG_KIND_FILE, op);
	bg_match(w, cfg, BG_KIND_FILE, LSM_MODE);
	bg_best_take(w, best, op, which);
}

/* One built path, one op. */
BG_INLINE int bg_lsm_file1(struct bg_work *w, struct bg_gen_config *cfg, __u8 op, __u64 a0)
{
	bg_path_to_key(w, &w->pkey);
	bg_key_path(w, BG_KIND_FILE, op);
	if (!bg_match(w, cfg, BG_KIND_FILE, LSM_MODE))
		return 0;
	return bg_lsm_finish(w, BG_KIND_FILE, op, BG_REC_PATH, a0, 0, 0, 0);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(bg_lsm_bprm_check, struct linux_binprm *bprm, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;
	__u32 zero = 0;
	struct bg_runtime_val *rt;
	long n;

	if (ret)
		return ret;
	rt = bpf_map_lookup_elem(&bg_runtime, &zero);
	if (rt && !rt->lsm_exec_seen)
		rt->lsm_exec_seen = 1;
	w = bg_lsm_enter(&cfg, BG_KIND_EXEC);
	if (!w)
		return 0;
	n = bpf_d_path((struct path *)&bprm->file->f_path, w->buf, sizeof(w->buf));
	bg_path_from_dpath(w, n);
	bg_path_to_key(w, &w->pkey);
	bg_key_path(w, BG_KIND_EXEC, BG_OP_NONE);
	if (!bg_match(w, cfg, BG_KIND_EXEC, LSM_MODE))
		return 0;
	return bg_lsm_finish(w, BG_KIND_EXEC, BG_OP_NONE, BG_REC_PATH, 0, 0, 0, 0);
}

SEC("lsm/file_open")
int BPF_PROG(bg_lsm_file_open, struct file *file, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_best best = {};
	struct bg_work *w;
	__u32 mode;
	long n;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_FILE);
	if (!w)
		return 0;
	mode = file->f_mode;
	if (!(mode & (FMODE_READ | FMODE_WRITE)))
		return 0;
	n = bpf_d_path((struct path *)&file->f_path, w->buf, sizeof(w->buf));
	if (!bg_path_from_dpath(w, n))
		return 0;
	if (mode & FMODE_READ)
		bg_lsm_file_op(w, cfg, &best, BG_OP_FILE_READ, 0);
	if (mode & FMODE_WRITE)
		bg_lsm_file_op(w, cfg, &best, BG_OP_FILE_WRITE, 0);
	if (!best.rank)
		return 0;
	bg_best_apply(w, &best);
	return bg_lsm_finish(w, BG_KIND_FILE, best.op, BG_REC_PATH, BPF_CORE_READ(file, f_flags), 0, 0, 0);
}

SEC("lsm/path_mknod")
int BPF_PROG(bg_lsm_path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode,
	     unsigned int dev, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_FILE);
	if (!w || !bg_path_of_child(w, dir, dentry))
		return 0;
	return bg_lsm_file1(w, cfg, BG_OP_FILE_CREATE, mode);
}

SEC("lsm/path_unlink")
int BPF_PROG(bg_lsm_path_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_FILE);
	if (!w || !bg_path_of_child(w, dir, dentry))
		return 0;
	return bg_lsm_file1(w, cfg, BG_OP_FILE_UNLINK, 0);
}

/* rename and link: the new name first (saved as aux), then the old one (the record's path). */
BG_INLINE int bg_lsm_file2(struct bg_work *w, struct bg_gen_config *cfg, __u8 op, int have_new,
			   const struct path *old_mnt_path, const struct path *old_dir, struct dentry *old_dentry)
{
	struct bg_best best = {};
	struct bg_verdict vd;
	struct bg_event *e;

	w->aux[0] = 0;
	if (have_new) {
		bg_lsm_file_op(w, cfg, &best, op, 1);
		bpf_probe_read_kernel(w->aux, sizeof(w->aux), &w->buf[w->start & BG_BUF_MASK]);
		w->aux[BG_AUX_MAX - 1] = 0;
	}
	if (old_dir) {
		if (!bg_path_of_child(w, old_dir, old_dentry))
			return 0;
	} else {
		bg_path_reset(w);
		if (!bg_path_walk(w, BPF_CORE_READ(old_mnt_path, mnt), old_dentry))
			return 0;
	}
	bg_lsm_file_op(w, cfg, &best, op, 0);
	if (!best.rank)
		return 0;
	bg_best_apply(w, &best);
	vd = bg_act(w, LSM_MODE);
	if (w->action < BG_ACT_AUDIT)
		return 0;
	e = bg_event_new(w, BG_KIND_FILE, op, BG_MECH_LSM, &vd, LSM_CTX);
	if (e) {
		bg_event_path(w, e);
		bpf_probe_read_kernel(e->aux, sizeof(e->aux), w->aux);
		bg_event_submit(e);
	}
	return vd.ret;
}

SEC("lsm/path_rename")
int BPF_PROG(bg_lsm_path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;
	int have_new;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_FILE);
	if (!w)
		return 0;
	have_new = bg_path_of_child(w, new_dir, new_dentry);
	return bg_lsm_file2(w, cfg, BG_OP_FILE_RENAME, have_new, 0, old_dir, old_dentry);
}

SEC("lsm/path_link")
int BPF_PROG(bg_lsm_path_link, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;
	int have_new;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_FILE);
	if (!w)
		return 0;
	have_new = bg_path_of_child(w, new_dir, new_dentry);
	/* a hard link stays on its mount: the old dentry is walked with the new dir's mount */
	return bg_lsm_file2(w, cfg, BG_OP_FILE_LINK, have_new, new_dir, 0, old_dentry);
}

SEC("lsm/path_chmod")
int BPF_PROG(bg_lsm_path_chmod, const struct path *path, umode_t mode, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_FILE);
	if (!w || !bg_path_of(w, path))
		return 0;
	return bg_lsm_file1(w, cfg, BG_OP_FILE_CHMOD, mode);
}

SEC("lsm/path_chown")
int BPF_PROG(bg_lsm_path_chown, const struct path *path, unsigned int uid, unsigned int gid, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_FILE);
	if (!w || !bg_path_of(w, path))
		return 0;
	return bg_lsm_file1(w, cfg, BG_OP_FILE_CHOWN, ((__u64)gid << 32) | uid);
}

SEC("lsm/path_truncate")
int BPF_PROG(bg_lsm_path_truncate, const struct path *path, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_FILE);
	if (!w || !bg_path_of(w, path))
		return 0;
	return bg_lsm_file1(w, cfg, BG_OP_FILE_TRUNCATE, 0);
}

SEC("lsm/capable")
int BPF_PROG(bg_lsm_capable, const struct cred *cred, struct user_namespace *ns, int cap, unsigned int opts,
	     int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;
	struct bg_verdict vd;
	struct bg_event *e;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_CAPABILITY);
	if (!w)
		return 0;
	bg_key_rule(w, BG_KIND_CAPABILITY, BG_OP_NONE, (__u32)cap, 0, 0, BG_WILD_NONE);
	if (!bg_match(w, cfg, BG_KIND_CAPABILITY, LSM_MODE))
		return 0;
	vd = bg_act(w, LSM_MODE);
	/* a silent (noaudit) check is enforced but only reported when it denies or kills */
	if (w->action < BG_ACT_AUDIT || ((opts & CAP_OPT_NOAUDIT) && !vd.deny && vd.outcome != BG_OUT_KILLED))
		return vd.ret;
	e = bg_event_new(w, BG_KIND_CAPABILITY, BG_OP_NONE, BG_MECH_LSM, &vd, LSM_CTX);
	if (e) {
		e->arg[0] = (__u32)cap;
		bg_event_exe(w, e, LSM_CTX);
		bg_event_submit(e);
	}
	return vd.ret;
}

SEC("lsm/kernel_read_file")
int BPF_PROG(bg_lsm_kernel_read_file, struct file *file, enum kernel_read_file_id id, bool contents, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;
	long n;

	if (ret)
		return ret;
	if (id != READING_MODULE)
		return 0;
	w = bg_lsm_enter(&cfg, BG_KIND_MODULE);
	if (!w)
		return 0;
	n = bpf_d_path((struct path *)&file->f_path, w->buf, sizeof(w->buf));
	bg_path_from_dpath(w, n);
	bg_key_rule(w, BG_KIND_MODULE, BG_OP_MODULE_FILE, BG_ANY, 0, 0, BG_WILD_NONE);
	if (!bg_match(w, cfg, BG_KIND_MODULE, LSM_MODE))
		return 0;
	return bg_lsm_finish(w, BG_KIND_MODULE, BG_OP_MODULE_FILE, BG_REC_PATH, BG_OP_MODULE_FILE, 0, 0, 0);
}

SEC("lsm/kernel_load_data")
int BPF_PROG(bg_lsm_kernel_load_data, enum kernel_load_data_id id, bool contents, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;

	if (ret)
		return ret;
	if (id != LOADING_MODULE)
		return 0;
	w = bg_lsm_enter(&cfg, BG_KIND_MODULE);
	if (!w)
		return 0;
	bg_key_rule(w, BG_KIND_MODULE, BG_OP_MODULE_DATA, BG_ANY, 0, 0, BG_WILD_NONE);
	if (!bg_match(w, cfg, BG_KIND_MODULE, LSM_MODE))
		return 0;
	return bg_lsm_finish(w, BG_KIND_MODULE, BG_OP_MODULE_DATA, BG_REC_EXE, BG_OP_MODULE_DATA, 0, 0, 0);
}

/* The hook's argument list grew after 6.1 (a trailing `kernel` flag), so `ret`
 * is not read here: only the command is. */
SEC("lsm/bpf")
int BPF_PROG(bg_lsm_bpf, int cmd)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w = bg_lsm_enter(&cfg, BG_KIND_BPF);

	if (!w)
		return 0;
	bg_key_rule(w, BG_KIND_BPF, BG_OP_NONE, (__u32)cmd, 0, 0, BG_WILD_A);
	if (!bg_match(w, cfg, BG_KIND_BPF, LSM_MODE))
		return 0;
	return bg_lsm_finish(w, BG_KIND_BPF, BG_OP_NONE, BG_REC_EXE, (__u32)cmd, 0, 0, 0);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(bg_lsm_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;
	__u8 op = (mode & PTRACE_MODE_ATTACH) ? BG_OP_PTRACE_ATTACH : BG_OP_PTRACE_READ;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_PTRACE);
	if (!w)
		return 0;
	bg_key_rule(w, BG_KIND_PTRACE, op, 0, 0, 0, BG_WILD_NONE);
	if (!bg_match(w, cfg, BG_KIND_PTRACE, LSM_MODE))
		return 0;
	return bg_lsm_finish(w, BG_KIND_PTRACE, op, BG_REC_EXE, BPF_CORE_READ(child, tgid), op, 0, 0);
}

SEC("lsm/sb_mount")
int BPF_PROG(bg_lsm_sb_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;
	struct bg_verdict vd;
	struct bg_event *e;
	__u32 h = BG_ANY;
	long n;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_MOUNT);
	if (!w)
		return 0;
	w->aux[0] = 0;
	if (type && bpf_probe_read_kernel_str(w->aux, sizeof(w->aux), type) > 1)
		h = bg_fnv1a32(w->aux, sizeof(w->aux));
	bg_key_rule(w, BG_KIND_MOUNT, BG_OP_MOUNT, h, 0, 0, h == BG_ANY ? BG_WILD_NONE : BG_WILD_A);
	if (!bg_match(w, cfg, BG_KIND_MOUNT, LSM_MODE))
		return 0;
	vd = bg_act(w, LSM_MODE);
	if (w->action < BG_ACT_AUDIT)
		return 0;
	e = bg_event_new(w, BG_KIND_MOUNT, BG_OP_MOUNT, BG_MECH_LSM, &vd, LSM_CTX);
	if (e) {
		e->arg[0] = flags;
		n = bpf_d_path((struct path *)path, w->buf, sizeof(w->buf));
		if (bg_path_from_dpath(w, n))
			bg_event_path(w, e);
		bpf_probe_read_kernel(e->aux, sizeof(e->aux), w->aux);
		bg_event_submit(e);
	}
	return vd.ret;
}

SEC("lsm/sb_umount")
int BPF_PROG(bg_lsm_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;
	struct bg_verdict vd;
	struct bg_event *e;
	const char *fstype;
	__u32 h = BG_ANY;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_MOUNT);
	if (!w)
		return 0;
	w->aux[0] = 0;
	fstype = BPF_CORE_READ(mnt, mnt_sb, s_type, name);
	if (fstype && bpf_probe_read_kernel_str(w->aux, sizeof(w->aux), fstype) > 1)
		h = bg_fnv1a32(w->aux, sizeof(w->aux));
	bg_key_rule(w, BG_KIND_MOUNT, BG_OP_UMOUNT, h, 0, 0, h == BG_ANY ? BG_WILD_NONE : BG_WILD_A);
	if (!bg_match(w, cfg, BG_KIND_MOUNT, LSM_MODE))
		return 0;
	vd = bg_act(w, LSM_MODE);
	if (w->action < BG_ACT_AUDIT)
		return 0;
	e = bg_event_new(w, BG_KIND_MOUNT, BG_OP_UMOUNT, BG_MECH_LSM, &vd, LSM_CTX);
	if (e) {
		e->arg[0] = (__u32)flags;
		bg_path_reset(w);
		if (bg_path_walk(w, mnt, BPF_CORE_READ(mnt, mnt_root)))
			bg_event_path(w, e);
		bpf_probe_read_kernel(e->aux, sizeof(e->aux), w->aux);
		bg_event_submit(e);
	}
	return vd.ret;
}

SEC("lsm/sb_pivotroot")
int BPF_PROG(bg_lsm_sb_pivotroot, const struct path *old_path, const struct path *new_path, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_MOUNT);
	if (!w)
		return 0;
	bg_key_rule(w, BG_KIND_MOUNT, BG_OP_PIVOT_ROOT, BG_ANY, 0, 0, BG_WILD_NONE);
	if (!bg_match(w, cfg, BG_KIND_MOUNT, LSM_MODE))
		return 0;
	bg_path_of(w, new_path);
	return bg_lsm_finish(w, BG_KIND_MOUNT, BG_OP_PIVOT_ROOT, BG_REC_PATH, 0, 0, 0, 0);
}

SEC("lsm/task_fix_setuid")
int BPF_PROG(bg_lsm_task_fix_setuid, struct cred *new, const struct cred *old, int flags, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_best best = {};
	struct bg_work *w;
	__u32 ouid, nuid, neuid, nsuid;

	if (ret)
		return ret;
	w = bg_lsm_enter(&cfg, BG_KIND_SETUID);
	if (!w)
		return 0;
	ouid = BPF_CORE_READ(old, uid.val);
	nuid = BPF_CORE_READ(new, uid.val);
	neuid = BPF_CORE_READ(new, euid.val);
	nsuid = BPF_CORE_READ(new, suid.val);
	if (ouid != 0 && (nuid == 0 || neuid == 0 || nsuid == 0)) {
		bg_key_rule(w, BG_KIND_SETUID, BG_OP_SETUID_TO_ROOT, 0, 0, 0, BG_WILD_NONE);
		bg_match(w, cfg, BG_KIND_SETUID, LSM_MODE);
		bg_best_take(w, &best, BG_OP_SETUID_TO_ROOT, 0);
	}
	bg_key_rule(w, BG_KIND_SETUID, BG_OP_SETUID_ANY, 0, 0, 0, BG_WILD_NONE);
	bg_match(w, cfg, BG_KIND_SETUID, LSM_MODE);
	bg_best_take(w, &best, BG_OP_SETUID_ANY, 0);
	if (!best.rank)
		return 0;
	bg_best_apply(w, &best);
	return bg_lsm_finish(w, BG_KIND_SETUID, best.op, BG_REC_EXE, ouid, nuid, neuid, 0);
}

/*
 * Sockets of every family (the cgroup sock_create hook sees only inet and
 * inet6). Sockets the kernel makes for itself (kern = 1) are not the caller's.
 * The first call marks bg_runtime.lsm_socket_seen, before any scope check, so
 * that bg_tp_sys_enter leaves socket rules to this program from then on.
 */
SEC("lsm/socket_create")
int BPF_PROG(bg_lsm_socket_create, int family, int type, int protocol, int kern, int ret)
{
	struct bg_gen_config *cfg = 0;
	struct bg_runtime_val *rt;
	struct bg_work *w;
	__u32 zero = 0, stype = (__u32)type & BG_SOCK_TYPE_MASK;

	if (ret)
		return ret;
	rt = bpf_map_lookup_elem(&bg_runtime, &zero);
	if (rt && !rt->lsm_socket_seen)
		rt->lsm_socket_seen = 1;
	if (kern)
		return 0;
	w = bg_lsm_enter(&cfg, BG_KIND_SOCKET);
	if (!w)
		return 0;
	bg_key_rule(w, BG_KIND_SOCKET, BG_OP_NONE, (__u32)family, stype, 0, BG_WILD_B);
	if (!bg_match(w, cfg, BG_KIND_SOCKET, LSM_MODE))
		return 0;
	return bg_lsm_finish(w, BG_KIND_SOCKET, BG_OP_NONE, BG_REC_EXE, (__u32)family, stype, (__u32)protocol,
			     0);
}

/* self-protection: armed by the daemon with --protect */
#include "lib/protect.h"
