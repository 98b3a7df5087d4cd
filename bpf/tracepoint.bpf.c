// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * Tracepoints: executable tracking, and kill-or-audit enforcement where
 * BPF-LSM is missing. Nothing here can deny: the action still runs unless the
 * process is killed first (SIGKILL is delivered before the process runs
 * another instruction of its own).
 *
 *   bg_tp_exec       sched_process_exec: exec rules (only while no LSM exec
 *                    program runs), then bg_task_exe[tgid] = bg_exe_ids[path]
 *   bg_tp_fork       sched_process_fork: a new process inherits its parent's exe id
 *   bg_tp_exit       sched_process_exit: the exe id of an ended process is deleted
 *   bg_tp_sys_enter  raw sys_enter: file, module, bpf, ptrace, mount, setuid and
 *                    socket from the system call's arguments (absolute user
 *                    paths only; sockets of families other than inet and inet6,
 *                    which bg_cg_sock_create decides, and only while no
 *                    bg_lsm_socket_create runs)
 */
#include "lib/common.h"

#define TP_CTX BG_CTX_TASK
#define TP_MODE (BG_CAN_KILL | BG_NO_BLOCK)

BG_INLINE int bg_lsm_exec_seen(void)
{
	__u32 zero = 0;
	struct bg_runtime_val *rt = bpf_map_lookup_elem(&bg_runtime, &zero);

	return rt && rt->lsm_exec_seen;
}

BG_INLINE int bg_lsm_socket_seen(void)
{
	__u32 zero = 0;
	struct bg_runtime_val *rt = bpf_map_lookup_elem(&bg_runtime, &zero);

	return rt && rt->lsm_socket_seen;
}

/* Act and report a tracepoint decision; the record's path is w's built path. */
BG_INLINE void bg_tp_report(struct bg_work *w, __u8 kind, __u8 op, int with_path,
			    __u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	struct bg_verdict vd = bg_act(w, TP_MODE);
	struct bg_event *e;

	if (w->action < BG_ACT_AUDIT)
		return;
	e = bg_event_new(w, kind, op, BG_MECH_TRACEPOINT, &vd, TP_CTX);
	if (!e)
		return;
	e->arg[0] = a0;
	e->arg[1] = a1;
	e->arg[2] = a2;
	e->arg[3] = a3;
	if (with_path)
		bg_event_path(w, e);
	else
		bg_event_exe(w, e, TP_CTX);
	bg_event_submit(e);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(bg_tp_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct bg_work *w = bg_work_get(BG_HEAP_NESTED);
	struct bg_gen_config *cfg = 0;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct file *file;
	__u32 *id;

	if (!w)
		return 0;
	file = BPF_CORE_READ(bprm, file);
	if (!file || !bg_path_of(w, &file->f_path))
		return 0;

	/* exec rules, decided with the scope of the executable that called exec */
	if (!bg_lsm_exec_seen() && bg_scope(w, &cfg, TP_CTX) && cfg) {
		bg_path_to_key(w, &w->pkey);
		bg_key_path(w, BG_KIND_EXEC, BG_OP_NONE);
		if (bg_match(w, cfg, BG_KIND_EXEC, TP_MODE))
			bg_tp_report(w, BG_KIND_EXEC, BG_OP_NONE, 1, 0, 0, 0, 0);
	}

	/* tracking: the new image's exe id */
	__builtin_memset(&w->exe, 0, sizeof(w->exe));
	bg_path_copy(w, w->exe.path);
	id = bpf_map_lookup_elem(&bg_exe_ids, &w->exe);
	if (id) {
		__u32 v = *id;

		bpf_map_update_elem(&bg_task_exe, &tgid, &v, BPF_ANY);
	} else {
		bpf_map_delete_elem(&bg_task_exe, &tgid);
	}
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(bg_tp_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u32 *id, v;

	if (ptgid == ctgid)
		return 0; /* a new thread */
	id = bpf_map_lookup_elem(&bg_task_exe, &ptgid);
	if (!id)
		return 0;
	v = *id;
	bpf_map_update_elem(&bg_task_exe, &ctgid, &v, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(bg_tp_exit, struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid), tgid = BPF_CORE_READ(p, tgid);

	if (pid == tgid)
		bpf_map_delete_elem(&bg_task_exe, &tgid);
	return 0;
}

/* ---- system-call entry ---- */

/* Read an absolute user path into the path key and w->buf. 0: not absolute or unreadable. */
BG_INLINE int bg_user_path(struct bg_work *w, const char *upath)
{
	long n;

	if (!upath)
		return 0;
	n = bpf_probe_read_user_str(w->pkey.path, sizeof(w->pkey.path), upath);
	if (n <= 1 || w->pkey.path[0] != '/')
		return 0;
	w->truncated = n >= BG_PATH_MAX;
	/* keep a copy for the record: the key is rewritten by the next read */
	bpf_probe_read_kernel(w->buf, BG_PATH_MAX, w->pkey.path);
	w->start = 0;
	w->len = n;
	return 1;
}

BG_INLINE void bg_sys_file_match(struct bg_work *w, struct bg_gen_config *cfg, struct bg_best *best,
				 __u8 op, __u8 which)
{
	bg_key_path(w, BG_KIND_FILE, op);
	bg_match(w, cfg, BG_KIND_FILE, TP_MODE);
	bg_best_take(w, best, op, which);
}

/* One path, one or more ops. */
BG_INLINE void bg_sys_file1(struct bg_work *w, struct bg_gen_config *cfg, const char *upath,
			    __u32 ops, __u64 flags)
{
	struct bg_best best = {};

	if (!bg_user_path(w, upath))
		return;
	for (__u8 op = BG_OP_FILE_READ; op <= BG_OP_FILE_TRUNCATE; op++)
		if (ops & (1u << op))
			bg_sys_file_match(w, cfg, &best, op, 0);
	if (!best.rank)
		return;
	bg_best_apply(w, &best);
	bg_tp_report(w, BG_KIND_FILE, best.op, 1, flags, 0, 0, 0);
}

/* Two paths (rename, link): either one matching decides; aux = new path. */
BG_INLINE void bg_sys_file2(struct bg_work *w, struct bg_gen_config *cfg, const char *uold,
			    const char *unew, __u8 op)
{
	struct bg_best best = {};
	int have_old = 0;

	if (bg_user_path(w, unew)) {
		bpf_probe_read_kernel(w->aux, sizeof(w->aux), w->pkey.path);
		bg_sys_file_match(w, cfg, &best, op, 1);
	} else {
		w->aux[0] = 0;
	}
	if (bg_user_path(w, uold)) {
		have_old = 1;
		bg_sys_file_match(w, cfg, &best, op, 0);
	}
	if (!best.rank)
		return;
	bg_best_apply(w, &best);
	{
		struct bg_verdict vd = bg_act(w, TP_MODE);
		struct bg_event *e;

		if (w->action < BG_ACT_AUDIT)
			return;
		e = bg_event_new(w, BG_KIND_FILE, op, BG_MECH_TRACEPOINT, &vd, TP_CTX);
		if (!e)
			return;
		if (have_old)
			bpf_probe_read_user_str(e->path, sizeof(e->path), uold);
		bpf_probe_read_kernel(e->aux, sizeof(e->aux), w->aux);
		e->aux[BG_AUX_MAX - 1] = 0;
		bg_event_submit(e);
	}
}

BG_INLINE __u32 bg_open_ops(__u64 flags)
{
	__u32 ops = 0, acc = flags & O_ACCMODE;

	if (acc == 0 || acc == O_RDWR)
		ops |= 1u << BG_OP_FILE_READ;
	if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC))
		ops |= 1u << BG_OP_FILE_WRITE;
	if (flags & O_CREAT)
		ops |= 1u << BG_OP_FILE_CREATE;
	return ops;
}

BG_INLINE void bg_sys_rule(struct bg_work *w, struct bg_gen_config *cfg, __u8 kind, __u8 op, __u32 a,
			   __u32 wild, __u64 a0, __u64 a1, __u64 a2)
{
	bg_key_rule(w, kind, op, a, 0, 0, wild);
	if (bg_match(w, cfg, kind, TP_MODE))
		bg_tp_report(w, kind, op, 0, a0, a1, a2, 0);
}

BG_INLINE void bg_sys_setuid(struct bg_work *w, struct bg_gen_config *cfg, __u32 ruid, __u32 euid, __u32 suid)
{
	struct bg_best best = {};
	__u32 cur = w->uid;
	int to_root = cur != 0 && (ruid == 0 || euid == 0 || suid == 0);

	if (to_root) {
		bg_key_rule(w, BG_KIND_SETUID, BG_OP_SETUID_TO_ROOT, 0, 0, 0, BG_WILD_NONE);
		bg_match(w, cfg, BG_KIND_SETUID, TP_MODE);
		bg_best_take(w, &best, BG_OP_SETUID_TO_ROOT, 0);
	}
	bg_key_rule(w, BG_KIND_SETUID, BG_OP_SETUID_ANY, 0, 0, 0, BG_WILD_NONE);
	bg_match(w, cfg, BG_KIND_SETUID, TP_MODE);
	bg_best_take(w, &best, BG_OP_SETUID_ANY, 0);
	if (!best.rank)
		return;
	bg_best_apply(w, &best);
	bg_tp_report(w, BG_KIND_SETUID, best.op, 0, cur, ruid, euid, 0);
}

/* socket(2) of a family that is left to bg_tp_sys_enter: not inet or inet6 (the
 * cgroup hook decides those), and no LSM socket program runs. Checked before
 * the scope, so that the common inet sockets cost one register read. */
BG_INLINE int bg_sys_socket_ours(__u32 family)
{
	return family != AF_INET && family != AF_INET6 && !bg_lsm_socket_seen();
}

BG_INLINE void bg_sys_socket(struct bg_work *w, struct bg_gen_config *cfg, __u32 family, __u32 type,
			     __u32 protocol)
{
	bg_key_rule(w, BG_KIND_SOCKET, BG_OP_NONE, family, type, 0, BG_WILD_B);
	if (bg_match(w, cfg, BG_KIND_SOCKET, TP_MODE))
		bg_tp_report(w, BG_KIND_SOCKET, BG_OP_NONE, 0, family, type, protocol, 0);
}

BG_INLINE int bg_sys_interesting(long id)
{
	switch (id) {
	case BG_NR_open: case BG_NR_openat: case BG_NR_openat2: case BG_NR_creat:
	case BG_NR_unlink: case BG_NR_unlinkat: case BG_NR_rmdir:
	case BG_NR_rename: case BG_NR_renameat: case BG_NR_renameat2:
	case BG_NR_chmod: case BG_NR_fchmodat: case BG_NR_fchmodat2:
	case BG_NR_chown: case BG_NR_lchown: case BG_NR_fchownat:
	case BG_NR_link: case BG_NR_linkat: case BG_NR_truncate:
	case BG_NR_init_module: case BG_NR_finit_module: case BG_NR_bpf: case BG_NR_ptrace:
	case BG_NR_mount: case BG_NR_umount2: case BG_NR_pivot_root:
	case BG_NR_setuid: case BG_NR_setreuid: case BG_NR_setresuid:
	case BG_NR_socket:
		return 1;
	}
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int bg_tp_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long id = (long)ctx->args[1];
	struct bg_gen_config *cfg = 0;
	struct bg_work *w;
	__u64 a0, a1, a2, a3, flags;

	if (!bg_sys_interesting(id))
		return 0;
	if (id == BG_NR_socket && !bg_sys_socket_ours((__u32)BPF_CORE_READ(regs, di)))
		return 0;
	w = bg_work_get(BG_HEAP_NESTED);
	if (!w || !bg_scope(w, &cfg, TP_CTX) || !cfg)
		return 0;
	a0 = BPF_CORE_READ(regs, di);
	a1 = BPF_CORE_READ(regs, si);
	a2 = BPF_CORE_READ(regs, dx);
	a3 = BPF_CORE_READ(regs, r10);

	switch (id) {
	case BG_NR_open:
		bg_sys_file1(w, cfg, (const char *)a0, bg_open_ops(a1), a1);
		break;
	case BG_NR_creat:
		flags = O_CREAT | O_WRONLY | O_TRUNC;
		bg_sys_file1(w, cfg, (const char *)a0, bg_open_ops(flags), flags);
		break;
	case BG_NR_openat:
		bg_sys_file1(w, cfg, (const char *)a1, bg_open_ops(a2), a2);
		break;
	case BG_NR_openat2:
		flags = 0;
		bpf_probe_read_user(&flags, sizeof(flags), (void *)a2); /* struct open_how.flags */
		bg_sys_file1(w, cfg, (const char *)a1, bg_open_ops(flags), flags);
		break;
	case BG_NR_unlink:
	case BG_NR_rmdir:
		bg_sys_file1(w, cfg, (const char *)a0, 1u << BG_OP_FILE_UNLINK, 0);
		break;
	case BG_NR_unlinkat:
		bg_sys_file1(w, cfg, (const char *)a1, 1u << BG_OP_FILE_UNLINK, a2);
		break;
	case BG_NR_rename:
		bg_sys_file2(w, cfg, (const char *)a0, (const char *)a1, BG_OP_FILE_RENAME);
		break;
	case BG_NR_renameat:
	case BG_NR_renameat2:
		bg_sys_file2(w, cfg, (const char *)a1, (const char *)a3, BG_OP_FILE_RENAME);
		break;
	case BG_NR_link:
		bg_sys_file2(w, cfg, (const char *)a0, (const char *)a1, BG_OP_FILE_LINK);
		break;
	case BG_NR_linkat:
		bg_sys_file2(w, cfg, (const char *)a1, (const char *)a3, BG_OP_FILE_LINK);
		break;
	case BG_NR_chmod:
		bg_sys_file1(w, cfg, (const char *)a0, 1u << BG_OP_FILE_CHMOD, a1);
		break;
	case BG_NR_fchmodat:
	case BG_NR_fchmodat2:
		bg_sys_file1(w, cfg, (const char *)a1, 1u << BG_OP_FILE_CHMOD, a2);
		break;
	case BG_NR_chown:
	case BG_NR_lchown:
		bg_sys_file1(w, cfg, (const char *)a0, 1u << BG_OP_FILE_CHOWN, 0);
		break;
	case BG_NR_fchownat:
		bg_sys_file1(w, cfg, (const char *)a1, 1u << BG_OP_FILE_CHOWN, 0);
		break;
	case BG_NR_truncate:
		bg_sys_file1(w, cfg, (const char *)a0, 1u << BG_OP_FILE_TRUNCATE, a1);
		break;
	case BG_NR_init_module:
		bg_sys_rule(w, cfg, BG_KIND_MODULE, BG_OP_MODULE_DATA, BG_ANY, BG_WILD_NONE,
			    BG_OP_MODULE_DATA, 0, 0);
		break;
	case BG_NR_finit_module:
		bg_sys_rule(w, cfg, BG_KIND_MODULE, BG_OP_MODULE_FILE, BG_ANY, BG_WILD_NONE,
			    BG_OP_MODULE_FILE, 0, 0);
		break;
	case BG_NR_bpf:
		bg_sys_rule(w, cfg, BG_KIND_BPF, BG_OP_NONE, (__u32)a0, BG_WILD_A, a0, 0, 0);
		break;
	case BG_NR_ptrace:
		if (a0 == PTRACE_ATTACH || a0 == PTRACE_SEIZE)
			bg_sys_rule(w, cfg, BG_KIND_PTRACE, BG_OP_PTRACE_ATTACH, 0, BG_WILD_NONE, a1,
				    BG_OP_PTRACE_ATTACH, 0);
		else if (a0 == PTRACE_PEEKTEXT || a0 == PTRACE_PEEKDATA || a0 == PTRACE_PEEKUSR)
			bg_sys_rule(w, cfg, BG_KIND_PTRACE, BG_OP_PTRACE_READ, 0, BG_WILD_NONE, a1,
				    BG_OP_PTRACE_READ, 0);
		break;
	case BG_NR_mount: {
		__u32 h;

		/* fstype into aux, mount point as the path */
		if (bpf_probe_read_user_str(w->aux, sizeof(w->aux), (const char *)a2) <= 0)
			w->aux[0] = 0;
		h = w->aux[0] ? bg_fnv1a32(w->aux, sizeof(w->aux)) : BG_ANY;
		bg_key_rule(w, BG_KIND_MOUNT, BG_OP_MOUNT, h, 0, 0, BG_WILD_A);
		if (bg_match(w, cfg, BG_KIND_MOUNT, TP_MODE)) {
			struct bg_verdict vd = bg_act(w, TP_MODE);
			struct bg_event *e;

			if (w->action < BG_ACT_AUDIT)
				break;
			e = bg_event_new(w, BG_KIND_MOUNT, BG_OP_MOUNT, BG_MECH_TRACEPOINT, &vd, TP_CTX);
			if (!e)
				break;
			e->arg[0] = a3;
			bpf_probe_read_user_str(e->path, sizeof(e->path), (const char *)a1);
			bpf_probe_read_kernel(e->aux, sizeof(e->aux), w->aux);
			e->aux[BG_AUX_MAX - 1] = 0;
			bg_event_submit(e);
		}
		break;
	}
	case BG_NR_umount2:
	case BG_NR_pivot_root: {
		__u8 op = id == BG_NR_umount2 ? BG_OP_UMOUNT : BG_OP_PIVOT_ROOT;

		bg_key_rule(w, BG_KIND_MOUNT, op, BG_ANY, 0, 0, BG_WILD_NONE);
		if (bg_match(w, cfg, BG_KIND_MOUNT, TP_MODE)) {
			struct bg_verdict vd = bg_act(w, TP_MODE);
			struct bg_event *e;

			if (w->action < BG_ACT_AUDIT)
				break;
			e = bg_event_new(w, BG_KIND_MOUNT, op, BG_MECH_TRACEPOINT, &vd, TP_CTX);
			if (!e)
				break;
			e->arg[0] = op == BG_OP_UMOUNT ? a1 : 0;
			bpf_probe_read_user_str(e->path, sizeof(e->path), (const char *)a0);
			bg_event_submit(e);
		}
		break;
	}
	case BG_NR_setuid:
		bg_sys_setuid(w, cfg, (__u32)a0, (__u32)a0, (__u32)a0);
		break;
	case BG_NR_setreuid:
		bg_sys_setuid(w, cfg, (__u32)a0, (__u32)a1, BG_ANY);
		break;
	case BG_NR_setresuid:
		bg_sys_setuid(w, cfg, (__u32)a0, (__u32)a1, (__u32)a2);
		break;
	case BG_NR_socket:
		bg_sys_socket(w, cfg, (__u32)a0, (__u32)a1 & BG_SOCK_TYPE_MASK, (__u32)a2);
		break;
	}
	return 0;
}
