/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Small macros and constants for the bpfgate programs. vmlinux.h carries the
 * kernel's types but no #defines, so the few UAPI constants used are here. */
#ifndef BPFGATE_MACROS_H
#define BPFGATE_MACROS_H

#define BG_INLINE static __always_inline
#define BG_NOINLINE static __noinline

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#define EPERM 1
#define E2BIG 7
#define SIGKILL 9

#define AF_INET 2
#define AF_INET6 10
/* the socket type without SOCK_NONBLOCK / SOCK_CLOEXEC (linux/net.h SOCK_TYPE_MASK) */
#define BG_SOCK_TYPE_MASK 0xf

/* open(2) flags (x86-64) */
/* mode bits (include/uapi/linux/stat.h) */
#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_ISUID 0004000
#define S_ISGID 0002000

#define O_ACCMODE 00000003
#define O_WRONLY 00000001
#define O_RDWR 00000002
#define O_CREAT 00000100
#define O_TRUNC 00001000

/* file mode bits in struct file->f_mode */
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2

/* ptrace(2) requests and ptrace_access_check modes */
#define PTRACE_PEEKTEXT 1
#define PTRACE_PEEKDATA 2
#define PTRACE_PEEKUSR 3
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206
#define PTRACE_MODE_READ 0x01
#define PTRACE_MODE_ATTACH 0x02

/* capable() opts */
#define CAP_OPT_NOAUDIT 0x2

/* x86-64 system call numbers used by bg_tp_sys_enter */
#define BG_NR_open 2
#define BG_NR_socket 41
#define BG_NR_listen 50
#define BG_NR_ptrace 101
#define BG_NR_setuid 105
#define BG_NR_setreuid 113
#define BG_NR_setresuid 117
#define BG_NR_creat 85
#define BG_NR_rename 82
#define BG_NR_rmdir 84
#define BG_NR_link 86
#define BG_NR_unlink 87
#define BG_NR_chmod 90
#define BG_NR_chown 92
#define BG_NR_lchown 94
#define BG_NR_truncate 76
#define BG_NR_mount 165
#define BG_NR_umount2 166
#define BG_NR_pivot_root 155
#define BG_NR_init_module 175
#define BG_NR_finit_module 313
#define BG_NR_openat 257
#define BG_NR_fchownat 260
#define BG_NR_unlinkat 263
#define BG_NR_renameat 264
#define BG_NR_linkat 265
#define BG_NR_fchmodat 268
#define BG_NR_renameat2 316
#define BG_NR_bpf 321
#define BG_NR_openat2 437
#define BG_NR_fchmodat2 452

#define AT_REMOVEDIR 0x200

/* struct bpf_cgroup_dev_ctx access_type (uapi enums, not in every vmlinux.h) */
#define BG_DEVCG_ACC_MKNOD 1
#define BG_DEVCG_ACC_READ 2
#define BG_DEVCG_ACC_WRITE 4
#define BG_DEVCG_DEV_BLOCK 1
#define BG_DEVCG_DEV_CHAR 2

#endif /* BPFGATE_MACROS_H */
