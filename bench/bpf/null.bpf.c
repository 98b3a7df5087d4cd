// Null programs for the benchmark: one per hook bpfgate uses, each allowing
// everything without looking at anything. bpfgate's program on the same hook
// is measured against these (kernel BPF statistics: run_time_ns / run_cnt).
// Built at bench time: clang -g -O2 -target bpf, vmlinux.h from this kernel.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("cgroup/sock_create")
int null_sock_create(struct bpf_sock *sk) { return 1; }

SEC("cgroup/connect4")
int null_connect4(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup/sysctl")
int null_sysctl(struct bpf_sysctl *ctx) { return 1; }

SEC("cgroup/dev")
int null_dev(struct bpf_cgroup_dev_ctx *ctx) { return 1; }

SEC("tp_btf/sched_process_exec")
int BPF_PROG(null_tp_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) { return 0; }

SEC("lsm/bprm_check_security")
int BPF_PROG(null_lsm_bprm, struct linux_binprm *bprm, int ret) { return ret; }

SEC("lsm/file_open")
int BPF_PROG(null_lsm_file_open, struct file *file, int ret) { return ret; }

SEC("lsm/capable")
int BPF_PROG(null_lsm_capable, const struct cred *cred, struct user_namespace *ns, int cap, unsigned int opts, int ret) { return ret; }

/* the same null decisions as fmod_ret programs on the security_* functions (the fmod_ret rung) */
SEC("fmod_ret/security_bprm_check")
int BPF_PROG(null_fmr_bprm, struct linux_binprm *bprm, int ret) { return ret; }

SEC("fmod_ret/security_file_open")
int BPF_PROG(null_fmr_file_open, struct file *file, int ret) { return ret; }

SEC("fmod_ret/security_capable")
int BPF_PROG(null_fmr_capable, const struct cred *cred, struct user_namespace *ns, int cap, unsigned int opts, int ret) { return ret; }

/* raw sys_enter: what attaching there costs every system call of the machine, before any decision */
SEC("raw_tracepoint/sys_enter")
int null_sys_enter(struct bpf_raw_tracepoint_args *ctx) { return 0; }
