// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * Tracepoints: executable tracking, and kill-or-audit enforcement where
 * BPF-LSM is missing. Nothing here can deny: the action still runs unless the
 * process is killed first (SIGKILL is delivered before the process runs
 * another instruction of its own).
 *
 *   bg_tp_exec       sched_process_exec: exec rules (only while no LSM exec
 *                    program runs), then bg_task_exe[tgid] = the exe id of the
 *                    file's identity (bg_exe_idents; BG_EXE_ID_VERIFIED beside it while
 *                    the file has the content user space measured, bg_exe_verified), else
 *                    of its path (bg_exe_ids)
 *   bg_tp_fork       sched_process_fork: a new process inherits its parent's exe id
 *   bg_tp_exit       sched_process_exit: the exe id of an ended process (its last thread) is deleted,
 *                    and bpfgate's own exemption (bg_state.daemon_tgid) when it is its process
 *   bg_tp_cgroup_mkdir, bg_tp_cgroup_rmdir  cgroup_mkdir and cgroup_rmdir: a cgroup made
 *                    after the set was applied that an exact or * selector matches is in
 *                    scope before it can hold a process (lib/cgwatch.h)
 *   bg_tp_sys_enter  raw sys_enter: file, module, bpf, ptrace, mount, setuid and
 *                    socket from the system call's arguments (absolute user
 *                    paths only; sockets of families other than inet and inet6,
 *                    which bg_cg_sock_create decides, and only while no
 *                    bg_lsm_socket_create runs)
 *   bg_tp_sys_listen raw sys_enter too: listen() on a socket that was never
 *                    bound (a bind rule: no bind hook sees the port the kernel
 *                    picks; only while no bg_lsm_socket_listen runs). A program
 *                    of its own, attached only when a bind rule needs it:
 *                    inlined beside every other call, its decision made
 *                    bg_tp_sys_enter too large for Debian 6.1's verifier
 */
#include "lib/common.h"
#include "lib/cgwatch.h"
#include "lib/fd.h"
#include "kinds/bpf.h"
#include "kinds/exec.h"
#include "kinds/file.h"
#include "kinds/module.h"
#include "kinds/mount.h"
#include "kinds/net.h"
#include "kinds/ptrace.h"
#include "kinds/setuid.h"
#include "kinds/socket.h"

#define TP_MECH BG_MECH_TRACEPOINT
/* sched_process_exec: a kill lands before the new program's first instruction */
#define TP_MODE (BG_CAN_KILL | BG_NO_BLOCK)
/* sys_enter: a kill lands on return from the system call, which has completed (killed-after) */
#define SYS_MODE (TP_MODE | BG_KILL_AFTER)

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

BG_INLINE int bg_lsm_listen_seen(void)
{
	__u32 zero = 0;
	struct bg_runtime_val *rt = bpf_map_lookup_elem(&bg_runtime, &zero);

	return rt && rt->lsm_listen_seen;
}

/*
 * BG_EXE_ID_VERIFIED when the file has the content user space measured: its change time and
 * size are what they were then (bg_exe_verified). The file is being executed: nobody can
 * have it open for writing now, and every write since the measurement changed the change
 * time.
 */
BG_INLINE __u32 bg_exe_verified_bit(struct inode *inode, struct bg_file_id_key *ik)
{
	struct bg_exe_verified_val *m = bpf_map_lookup_elem(&bg_exe_verified, ik);
	__s64 sec;
	__u32 nsec;

	if (!m)
		return 0;
	bg_inode_ctime(inode, &sec, &nsec);
	if (sec != m->ctime_sec || nsec != m->ctime_nsec || BPF_CORE_READ(inode, i_size) != m->size)
		return 0;
	return BG_EXE_ID_VERIFIED;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(bg_tp_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct bg_work *w = bg_work_get(BG_HEAP_NESTED);
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct bg_gen_config *cfg = 0;
	struct file *file;
	__u32 *id, content = 0;

	/* the id of this exec's content (bg_lsm_exe_content), taken first, whatever decides: never
	 * left for a later exec of the process, which the hashing program may no longer see */
	id = bpf_map_lookup_elem(&bg_task_content, &tgid);
	if (id) {
		content = *id;
		bpf_map_delete_elem(&bg_task_content, &tgid);
	}
	if (!w)
		return 0;
	file = BPF_CORE_READ(bprm, file);
	if (!file)
		return 0;
	/* a path that cannot be built is decided as unresolved (fail closed) */
	if (!bg_path_of(w, &file->f_path) && !bg_path_unresolved(w))
		return 0;

	/* exec rules, decided with the scope of the executable that called exec */
	if (!bg_lsm_exec_seen() && bg_scope(w, &cfg) && cfg)
		bg_exec_decide(w, file, BG_EXEC_VIA_EXEC, TP_MECH, TP_MODE);

	/* tracking: the new image's exe id. The file's identity first: a named executable is
	 * what its inode is, whatever name ran it. Then its path, unless the path names a file
	 * this host has (BG_EXE_ID_BOUND) and this is another one; that, and a path that cannot
	 * be built, get the unresolved id (in every executable scope, never excepted), never
	 * the caller's */
	struct bg_file_id_key ik = {};
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	__u32 v = BG_EXE_ID_UNRESOLVED;

	if (inode) {
		ik.dev = BPF_CORE_READ(inode, i_sb, s_dev);
		ik.ino = BPF_CORE_READ(inode, i_ino);
		id = bpf_map_lookup_elem(&bg_exe_idents, &ik);
		if (id) {
			v = *id | bg_exe_verified_bit(inode, &ik);
			bpf_map_update_elem(&bg_task_exe, &tgid, &v, BPF_ANY);
			return 0;
		}
	}
	if (bg_path_unresolved(w)) {
		bpf_map_update_elem(&bg_task_exe, &tgid, &v, BPF_ANY);
		return 0;
	}
	__builtin_memset(&w->exe, 0, sizeof(w->exe));
	bg_path_copy(w, w->exe.path);
	id = bpf_map_lookup_elem(&bg_exe_ids, &w->exe);
	if (id) {
		v = *id;
		if (v & BG_EXE_ID_BOUND)
			v = BG_EXE_ID_UNRESOLVED;
		bpf_map_update_elem(&bg_task_exe, &tgid, &v, BPF_ANY);
		return 0;
	}
	/* no id of its own: the id of its content, where an exception names it (bg_lsm_exe_content) */
	if (content) {
		v = content;
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
	/* threads still running in the process: do_exit() counts this one out before the tracepoint */
	int live = BPF_CORE_READ(p, signal, live.counter);

	__u32 zero = 0;
	struct bg_state *st;

	/* the exe id goes with the process's last thread, not its main thread: a main thread that
	 * ends first (pthread_exit) leaves the process running, in its executable's scope */
	if (live <= 0)
		bpf_map_delete_elem(&bg_task_exe, &tgid);
	if (pid != tgid)
		return 0;
	/* bpfgate's own process ended (crash, SIGKILL, --keep-enforcing): its exemption ends with it */
	st = bpf_map_lookup_elem(&bg_state, &zero);
	if (st && st->daemon_tgid == tgid)
		st->daemon_tgid = 0;
	return 0;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(bg_tp_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	bg_cgroup_mkdir(cgrp);
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(bg_tp_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	bg_cgroup_rmdir(cgrp);
	return 0;
}

/* ---- system-call entry ---- */

/* A file access on the path(s) a system call passed; none relative (no rule can match one). */
BG_INLINE void bg_sys_file(struct bg_work *w, const char *upath, __u32 ops, __u64 arg)
{
	struct bg_file_in in = { .ops = ops, .arg = arg, .path = { .from = BG_FROM_USER, .user = upath } };

	bg_file_decide(w, &in, TP_MECH, SYS_MODE);
}

/* rename and link: either name matching decides. */
BG_INLINE void bg_sys_file2(struct bg_work *w, const char *uold, const char *unew,
			    __u8 op)
{
	struct bg_file_in in = {
		.ops = BG_FILE_OP(op),
		.path = { .from = BG_FROM_USER, .user = uold },
		.new_path = { .from = BG_FROM_USER, .user = unew },
	};

	bg_file_decide(w, &in, TP_MECH, SYS_MODE);
}

BG_INLINE __u32 bg_open_ops(__u64 flags)
{
	__u32 ops = 0, acc = flags & O_ACCMODE;

	if (acc == 0 || acc == O_RDWR)
		ops |= BG_FILE_OP(BG_OP_FILE_READ);
	if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC))
		ops |= BG_FILE_OP(BG_OP_FILE_WRITE);
	if (flags & O_TRUNC)
		ops |= BG_FILE_OP(BG_OP_FILE_TRUNCATE);
	if (flags & O_CREAT)
		ops |= BG_FILE_OP(BG_OP_FILE_CREATE);
	return ops;
}

/* mount, umount2, pivot_root: the filesystem type and the mount point as the call passed them. */
BG_INLINE void bg_sys_mount(struct bg_work *w, __u8 op, const char *ufstype,
			    const char *upoint, __u64 flags)
{
	struct bg_path_src at = { .from = BG_FROM_USER, .user = upoint };

	w->aux[0] = 0;
	if (ufstype && bpf_probe_read_user_str(w->aux, sizeof(w->aux), ufstype) <= 0)
		w->aux[0] = 0;
	bg_mount_decide(w, op, flags, &at, TP_MECH, SYS_MODE);
}

/* socket(2) of a family that is left to bg_tp_sys_enter: not inet or inet6 (the
 * cgroup hook decides those), and no LSM socket program runs. Checked before
 * the scope, so that the common inet sockets cost one register read. */
BG_INLINE int bg_sys_socket_ours(__u32 family)
{
	return family != AF_INET && family != AF_INET6 && !bg_lsm_socket_seen();
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
	struct bg_path_src none = { .from = BG_FROM_NONE };
	struct bg_work *w;
	__u64 a0, a1, a2, a3, flags;

	if (!bg_sys_interesting(id))
		return 0;
	if (id == BG_NR_socket && !bg_sys_socket_ours((__u32)BPF_CORE_READ(regs, di)))
		return 0;
	w = bg_enter(BG_HEAP_NESTED, 0);
	if (!w)
		return 0;
	a0 = BPF_CORE_READ(regs, di);
	a1 = BPF_CORE_READ(regs, si);
	a2 = BPF_CORE_READ(regs, dx);
	a3 = BPF_CORE_READ(regs, r10);

	switch (id) {
	case BG_NR_open:
		bg_sys_file(w, (const char *)a0, bg_open_ops(a1), a1);
		break;
	case BG_NR_creat:
		flags = O_CREAT | O_WRONLY | O_TRUNC;
		bg_sys_file(w, (const char *)a0, bg_open_ops(flags), flags);
		break;
	case BG_NR_openat:
		bg_sys_file(w, (const char *)a1, bg_open_ops(a2), a2);
		break;
	case BG_NR_openat2:
		flags = 0;
		bpf_probe_read_user(&flags, sizeof(flags), (void *)a2); /* struct open_how.flags */
		bg_sys_file(w, (const char *)a1, bg_open_ops(flags), flags);
		break;
	case BG_NR_unlink:
	case BG_NR_rmdir:
		bg_sys_file(w, (const char *)a0, BG_FILE_OP(BG_OP_FILE_UNLINK), 0);
		break;
	case BG_NR_unlinkat:
		bg_sys_file(w, (const char *)a1, BG_FILE_OP(BG_OP_FILE_UNLINK), a2);
		break;
	case BG_NR_rename:
		bg_sys_file2(w, (const char *)a0, (const char *)a1, BG_OP_FILE_RENAME);
		break;
	case BG_NR_renameat:
	case BG_NR_renameat2:
		bg_sys_file2(w, (const char *)a1, (const char *)a3, BG_OP_FILE_RENAME);
		break;
	case BG_NR_link:
		bg_sys_file2(w, (const char *)a0, (const char *)a1, BG_OP_FILE_LINK);
		break;
	case BG_NR_linkat:
		bg_sys_file2(w, (const char *)a1, (const char *)a3, BG_OP_FILE_LINK);
		break;
	case BG_NR_chmod:
		bg_sys_file(w, (const char *)a0, BG_FILE_OP(BG_OP_FILE_CHMOD), a1);
		break;
	case BG_NR_fchmodat:
	case BG_NR_fchmodat2:
		bg_sys_file(w, (const char *)a1, BG_FILE_OP(BG_OP_FILE_CHMOD), a2);
		break;
	case BG_NR_chown:
	case BG_NR_lchown:
		bg_sys_file(w, (const char *)a0, BG_FILE_OP(BG_OP_FILE_CHOWN), 0);
		break;
	case BG_NR_fchownat:
		bg_sys_file(w, (const char *)a1, BG_FILE_OP(BG_OP_FILE_CHOWN), 0);
		break;
	case BG_NR_truncate:
		bg_sys_file(w, (const char *)a0, BG_FILE_OP(BG_OP_FILE_TRUNCATE), a1);
		break;
	case BG_NR_init_module:
		bg_module_decide(w, BG_OP_MODULE_DATA, &none, TP_MECH, SYS_MODE);
		break;
	case BG_NR_finit_module:
		bg_module_decide(w, BG_OP_MODULE_FILE, &none, TP_MECH, SYS_MODE);
		break;
	case BG_NR_bpf:
		bg_bpf_decide(w, (__u32)a0, TP_MECH, SYS_MODE);
		break;
	case BG_NR_ptrace:
		if (a0 == PTRACE_ATTACH || a0 == PTRACE_SEIZE)
			bg_ptrace_decide(w, BG_OP_PTRACE_ATTACH, a1, TP_MECH, SYS_MODE);
		else if (a0 == PTRACE_PEEKTEXT || a0 == PTRACE_PEEKDATA || a0 == PTRACE_PEEKUSR)
			bg_ptrace_decide(w, BG_OP_PTRACE_READ, a1, TP_MECH, SYS_MODE);
		break;
	case BG_NR_mount:
		bg_sys_mount(w, BG_OP_MOUNT_MOUNT, (const char *)a2, (const char *)a1, a3);
		break;
	case BG_NR_umount2:
		bg_sys_mount(w, BG_OP_MOUNT_UMOUNT, 0, (const char *)a0, a1);
		break;
	case BG_NR_pivot_root:
		bg_sys_mount(w, BG_OP_MOUNT_PIVOT_ROOT, 0, (const char *)a0, 0);
		break;
	case BG_NR_setuid:
		bg_setuid_decide(w, w->uid, (__u32)a0, (__u32)a0, (__u32)a0, TP_MECH, SYS_MODE);
		break;
	case BG_NR_setreuid:
		bg_setuid_decide(w, w->uid, (__u32)a0, (__u32)a1, BG_ANY, TP_MECH, SYS_MODE);
		break;
	case BG_NR_setresuid:
		bg_setuid_decide(w, w->uid, (__u32)a0, (__u32)a1, (__u32)a2, TP_MECH, SYS_MODE);
		break;
	case BG_NR_socket:
		bg_socket_decide(w, (__u32)a0, (__u32)a1 & BG_SOCK_TYPE_MASK, (__u32)a2, TP_MECH, SYS_MODE);
		break;
	}
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int bg_tp_sys_listen(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	struct socket *sock;
	struct bg_work *w;

	if ((long)ctx->args[1] != BG_NR_listen || bg_lsm_listen_seen())
		return 0;
	w = bg_enter(BG_HEAP_NESTED, 0);
	if (!w)
		return 0;
	sock = bg_fd_socket((int)BPF_CORE_READ(regs, di));
	if (sock)
		bg_net_listen(w, sock, TP_MECH, SYS_MODE);
	return 0;
}
