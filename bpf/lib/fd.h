/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * The calling process's file descriptors: the struct file behind an fd (for
 * programs that see only a system call's numbers: raw sys_enter, and
 * self-protection's bpf() checks), and the socket behind a socket fd.
 */
#ifndef BPFGATE_FD_H
#define BPFGATE_FD_H

#define BG_S_IFMT 00170000
#define BG_S_IFSOCK 0140000

/* The file behind one of the calling process's fds (NULL if none). */
BG_INLINE struct file *bg_fd_file(int fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds;
	struct file *f = 0;

	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* The socket behind fd, or NULL when fd is not a socket. */
BG_INLINE struct socket *bg_fd_socket(int fd)
{
	struct file *f = bg_fd_file(fd);

	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & BG_S_IFMT) != BG_S_IFSOCK)
		return 0;
	return BPF_CORE_READ(f, private_data);
}

#endif /* BPFGATE_FD_H */
