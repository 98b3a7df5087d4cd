// attack: one small program per privileged action the enforcement tests try.
// It attempts exactly one action and exits with the errno it saw (0 when the
// action succeeded), after printing "ok" or "errno N NAME" on stdout. Usage
// errors exit 255 (no errno has that value). See test/attacks/README.md.
//
//   attack [--hold MS] [WHO...] COMMAND ARGS...
//
// --hold MS keeps the process alive MS milliseconds after the attempt, so a
// daemon can still read /proc/<pid> (executable, arguments) for its event.
// WHO options change who attempts it, as an intruder evading a scope would:
//   --unshare-pid      unshare(CLONE_NEWPID) first, staying in this pid namespace
//   --pidns            act from a child in a new pid namespace (a container's process)
//   --ids RUID:EUID    setresuid(RUID, EUID, EUID) first
//   --as-pid PID|@FILE act from a child given that pid (clone3 set_tid: pid reuse)
//   --main-exits       act from a second thread after the main thread has ended
//                      (pthread_exit): the process runs on without its main thread
// WHERE options change the name the file is reached by, as an intruder would:
//   --bind SRC DST     a mount namespace of its own, SRC bound at DST in it
//   --chroot DIR       chroot(DIR) first
//   --drop UID:GID     keep capabilities (PR_SET_KEEPCAPS), drop the supplementary
//                      groups, then every gid and uid: permitted capabilities stay,
//                      effective ones are cleared
//   --raise            capset: effective = permitted (after --drop: CAP_SETUID back)
// With --pidns and --as-pid, the acting child prints "pid N" (its pid in the
// initial pid namespace) before the result, and its exit status is relayed.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static long hold_ms;

static void hold(void) {
  if (hold_ms <= 0) return;
  struct timespec ts = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

/* Report the outcome of the attempt and exit with its errno. */
static int done(int err) {
  if (err == 0)
    printf("ok\n");
  else
    printf("errno %d %s\n", err, strerrorname_np(err) ? strerrorname_np(err) : "?");
  fflush(stdout);
  hold();
  return err;
}

static int usage(const char *why) {
  fprintf(stderr,
          "attack: %s\n"
          "usage: attack [--hold MS] [--unshare-pid|--pidns] [--ids RUID:EUID] [--as-pid PID|@FILE]\n"
          "              [--bind SRC DST] [--chroot DIR]\n"
          "              COMMAND ARGS...\n"
          "  raw_socket [inet|inet6]        socket(AF_INET[6], SOCK_RAW, ICMP)\n"
          "  packet_socket                  socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)\n"
          "  socket FAMILY TYPE [PROTO]     numbers, e.g. socket 2 3 1\n"
          "  connect HOST PORT [tcp|udp]    connect to an IPv4 or IPv6 address\n"
          "  bind HOST PORT [tcp|udp]       bind a local address\n"
          "  sendto HOST PORT               a UDP datagram, no connect (sendto)\n"
          "  sendmsg HOST PORT              a UDP datagram, no connect (sendmsg)\n"
          "  tfo HOST PORT                  TCP fast open: sendto(MSG_FASTOPEN), no connect\n"
          "  listen [inet|inet6]            listen() on a TCP socket never bound\n"
          "  sysctl_read NAME               read /proc/sys/NAME (dots as slashes)\n"
          "  sysctl_write NAME VALUE        write VALUE to /proc/sys/NAME\n"
          "  open PATH MODE                 open a file, MODE r, w or rw\n"
          "  open_dev PATH MODE             the same, for device nodes\n"
          "  mknod PATH c|b MAJOR MINOR     create a device node (removed again)\n"
          "  exec PATH [ARGS...]            execve PATH (on failure, exits with the errno)\n"
          "  mnt_fsopen FSTYPE              fsopen+fsconfig+fsmount+move_mount (own mount namespace)\n"
          "  mnt_clone PATH                 open_tree(OPEN_TREE_CLONE)+move_mount: a bind, no mount(2)\n"
          "  mnt_bind PATH                  mount(2) MS_BIND of PATH\n"
          "  mnt_move PATH                  mount(2) MS_MOVE of the mount at PATH\n"
          "  mnt_remount PATH [TYPE]        mount(2) MS_REMOUNT|MS_BIND|MS_RDONLY, passing TYPE\n"
          "  rename OLD NEW                 rename(OLD, NEW)\n",
          why);
  return 255;
}

static int make_socket(int family, int type, int proto) {
  int fd = socket(family, type, proto);
  if (fd < 0) return done(errno);
  close(fd);
  return done(0);
}

static int parse_port(const char *s) {
  char *end;
  long p = strtol(s, &end, 10);
  if (*end || p < 0 || p > 65535) return -1;
  return (int)p;
}

enum net_call { NET_CONNECT, NET_BIND, NET_SENDTO, NET_SENDMSG, NET_TFO };

/* HOST PORT [tcp|udp] by one call: connect, bind, a datagram without connect, TCP fast open. */
static int net(int argc, char **argv, enum net_call call) {
  if (argc < 2) return usage("HOST PORT required");
  int port = parse_port(argv[1]);
  if (port < 0) return usage("bad port");
  int type = call == NET_SENDTO || call == NET_SENDMSG ? SOCK_DGRAM : SOCK_STREAM;
  if (argc > 2) {
    if (!strcmp(argv[2], "udp"))
      type = SOCK_DGRAM;
    else if (strcmp(argv[2], "tcp"))
      return usage("protocol: tcp or udp");
  }
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, argv[0], &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    len = sizeof *a4;
  } else if (inet_pton(AF_INET6, argv[0], &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    len = sizeof *a6;
  } else {
    return usage("HOST: an IPv4 or IPv6 address");
  }
  int fd = socket(ss.ss_family, type, 0);
  if (fd < 0) return done(errno);
  struct iovec iov = {.iov_base = "x", .iov_len = 1};
  struct msghdr msg = {.msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
  long r;
  switch (call) {
  case NET_CONNECT: r = connect(fd, (struct sockaddr *)&ss, len); break;
  case NET_BIND: r = bind(fd, (struct sockaddr *)&ss, len); break;
  case NET_SENDTO: r = sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len); break;
  case NET_SENDMSG: r = sendmsg(fd, &msg, 0); break;
  case NET_TFO: r = sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&ss, len); break;
  }
  int err = r < 0 ? errno : 0;
  close(fd);
  return done(err);
}

/* listen() on a TCP socket that was never bound: the kernel picks the port. */
static int listen_unbound(int argc, char **argv) {
  int fd = socket(argc > 0 && !strcmp(argv[0], "inet6") ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return done(errno);
  int err = listen(fd, 1) < 0 ? errno : 0;
  close(fd);
  return done(err);
}

static int sysctl_path(const char *name, char *out, size_t size) {
  int n = snprintf(out, size, "/proc/sys/%s", name);
  if (n < 0 || (size_t)n >= size) return -1;
  for (char *p = out + strlen("/proc/sys/"); *p; p++)
    if (*p == '.') *p = '/';
  return 0;
}

static int open_mode(const char *mode) {
  if (!strcmp(mode, "r")) return O_RDONLY;
  if (!strcmp(mode, "w")) return O_WRONLY;
  if (!strcmp(mode, "rw")) return O_RDWR;
  /* truncating opens: one attempt that is two operations */
  if (!strcmp(mode, "wt")) return O_WRONLY | O_TRUNC;
  if (!strcmp(mode, "rt")) return O_RDONLY | O_TRUNC;
  return -1;
}

/*
 * Mounts, each from a mount namespace of its own (unshare(CLONE_NEWNS), every
 * mount made private first): whatever the attempt mounts vanishes with the
 * process. The new mount is put on a fresh directory under /tmp.
 */
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#define BG_OPEN_TREE_CLONE 1
#define BG_MOVE_MOUNT_F_EMPTY_PATH 0x4
#define BG_FSCONFIG_CMD_CREATE 6

/* A private mount namespace and a fresh mount point; 0 when set up. */
static int mount_setup(char *dir) {
  if (unshare(CLONE_NEWNS) < 0) return usage("unshare(CLONE_NEWNS)");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return usage("mount: make / private");
  if (!mkdtemp(dir)) return usage("mkdtemp");
  return 0;
}

/* Attach a detached mount (an fd from fsmount or open_tree) on dir. */
static int attach(int mfd, const char *dir) {
  if (mfd < 0) return usage("no mount to attach");
  return syscall(SYS_move_mount, mfd, "", AT_FDCWD, dir, BG_MOVE_MOUNT_F_EMPTY_PATH) < 0 ? errno : 0;
}

static int mount_act(const char *cmd, int n, char **a) {
  char dir[] = "/tmp/attack-mnt.XXXXXX";
  int err;
  if (n < 1) return usage("an argument required");
  if ((err = mount_setup(dir))) return err;
  if (!strcmp(cmd, "mnt_fsopen")) {
    /* the new mount API: no mount(2) at all */
    int fs = syscall(SYS_fsopen, a[0], 0);
    if (fs < 0) return done(errno);
    if (syscall(SYS_fsconfig, fs, BG_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) return done(errno);
    err = attach(syscall(SYS_fsmount, fs, 0, 0), dir);
  } else if (!strcmp(cmd, "mnt_clone")) {
    /* a bind mount without mount(2): a clone of the tree at a[0], attached elsewhere */
    err = attach(syscall(SYS_open_tree, AT_FDCWD, a[0], BG_OPEN_TREE_CLONE), dir);
  } else if (!strcmp(cmd, "mnt_bind")) {
    err = mount(a[0], dir, NULL, MS_BIND, NULL) < 0 ? errno : 0;
  } else if (!strcmp(cmd, "mnt_move")) {
    err = mount(a[0], dir, NULL, MS_MOVE, NULL) < 0 ? errno : 0;
  } else if (!strcmp(cmd, "mnt_remount")) {
    /* a[1]: the type string passed, which the kernel ignores for a remount */
    err = mount(NULL, a[0], n > 1 ? a[1] : NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0 ? errno : 0;
  } else {
    return usage("unknown command");
  }
  err = done(err);
  umount2(dir, MNT_DETACH);
  rmdir(dir);
  return err;
}
/* capset: the effective set made equal to the permitted one (raises what --drop cleared). */
static int raise_effective(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0) return errno;
  d[0].effective = d[0].permitted;
  d[1].effective = d[1].permitted;
  return syscall(SYS_capset, &h, d) < 0 ? errno : 0;
}

/* An id argument: a number, or -1 for "leave it as it is". */
static unsigned id_arg(const char *s) { return (unsigned)strtol(s, NULL, 10); }

/* The attempt itself: COMMAND with its n arguments a. */
static int act(const char *cmd, int n, char **a) {
  if (!strcmp(cmd, "raw_socket")) {
    int family = AF_INET, proto = IPPROTO_ICMP;
    if (n > 0 && !strcmp(a[0], "inet6")) family = AF_INET6, proto = IPPROTO_ICMPV6;
    return make_socket(family, SOCK_RAW, proto);
  }
  if (!strcmp(cmd, "packet_socket")) return make_socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (!strcmp(cmd, "socket")) {
    if (n < 2) return usage("FAMILY TYPE required");
    return make_socket(atoi(a[0]), atoi(a[1]), n > 2 ? atoi(a[2]) : 0);
  }
  if (!strcmp(cmd, "connect")) return net(n, a, NET_CONNECT);
  if (!strcmp(cmd, "bind")) return net(n, a, NET_BIND);
  if (!strcmp(cmd, "sendto")) return net(n, a, NET_SENDTO);
  if (!strcmp(cmd, "sendmsg")) return net(n, a, NET_SENDMSG);
  if (!strcmp(cmd, "tfo")) return net(n, a, NET_TFO);
  if (!strcmp(cmd, "listen")) return listen_unbound(n, a);
  if (!strcmp(cmd, "sysctl_read") || !strcmp(cmd, "sysctl_write")) {
    int write_it = cmd[7] == 'w';
    if (n < (write_it ? 2 : 1)) return usage(write_it ? "NAME VALUE required" : "NAME required");
    char path[512];
    if (sysctl_path(a[0], path, sizeof path)) return usage("NAME too long");
    int fd = open(path, write_it ? O_WRONLY : O_RDONLY);
    if (fd < 0) return done(errno);
    char buf[4096];
    ssize_t r;
    if (write_it) {
      size_t len = strlen(a[1]);
      r = write(fd, a[1], len);
    } else {
      r = read(fd, buf, sizeof buf);
    }
    int err = r < 0 ? errno : 0;
    close(fd);
    return done(err);
  }
  if (!strcmp(cmd, "open") || !strcmp(cmd, "open_dev")) {
    if (n < 2) return usage("PATH MODE required");
    int flags = open_mode(a[1]);
    if (flags < 0) return usage("MODE: r, w, rw, wt or rt");
    int fd = open(a[0], flags);
    if (fd < 0) return done(errno);
    close(fd);
    return done(0);
  }
  if (!strcmp(cmd, "mknod")) {
    if (n < 4) return usage("PATH c|b MAJOR MINOR required");
    mode_t type;
    if (!strcmp(a[1], "c"))
      type = S_IFCHR;
    else if (!strcmp(a[1], "b"))
      type = S_IFBLK;
    else
      return usage("type: c or b");
    if (mknod(a[0], type | 0600, makedev(atoi(a[2]), atoi(a[3]))) < 0) return done(errno);
    unlink(a[0]);
    return done(0);
  }
  if (!strcmp(cmd, "rename")) {
    if (n < 2) return usage("OLD NEW required");
    return done(rename(a[0], a[1]) < 0 ? errno : 0);
  }
  if (!strcmp(cmd, "mkdir")) {
    if (n < 1) return usage("PATH required");
    return done(mkdir(a[0], 0755) < 0 ? errno : 0);
  }
  if (!strcmp(cmd, "symlink")) {
    if (n < 2) return usage("TARGET PATH required");
    return done(symlink(a[0], a[1]) < 0 ? errno : 0);
  }
  if (!strcmp(cmd, "setxattr")) {
    if (n < 3) return usage("PATH NAME VALUE required");
    return done(setxattr(a[0], a[1], a[2], strlen(a[2]), 0) < 0 ? errno : 0);
  }
  if (!strcmp(cmd, "removexattr")) {
    if (n < 2) return usage("PATH NAME required");
    return done(removexattr(a[0], a[1]) < 0 ? errno : 0);
  }
  if (!strcmp(cmd, "setresuid") || !strcmp(cmd, "setresgid")) {
    if (n < 3) return usage("RID EID SID required (-1: unchanged)");
    long r = cmd[5] == 'u' ? syscall(SYS_setresuid, id_arg(a[0]), id_arg(a[1]), id_arg(a[2]))
                           : syscall(SYS_setresgid, id_arg(a[0]), id_arg(a[1]), id_arg(a[2]));
    return done(r < 0 ? errno : 0);
  }
  if (!strcmp(cmd, "setfsuid")) {
    /* setfsuid reports no error: it returns the old fsuid; a refused change leaves it */
    if (n < 1) return usage("FSUID [PATH] required");
    unsigned want = id_arg(a[0]);
    setfsuid(want);
    if ((unsigned)setfsuid(-1) != want) return done(EPERM);
    if (n < 2) return done(0);
    int fd = open(a[1], O_RDONLY);
    if (fd < 0) return done(errno);
    close(fd);
    return done(0);
  }
  if (!strcmp(cmd, "setgroups")) {
    gid_t groups[16];
    int count = n < 16 ? n : 16;
    for (int i = 0; i < count; i++) groups[i] = id_arg(a[i]);
    return done(setgroups(count, groups) < 0 ? errno : 0);
  }
  if (!strcmp(cmd, "capset")) return done(raise_effective());
  if (!strcmp(cmd, "unshare_user")) return done(unshare(CLONE_NEWUSER) < 0 ? errno : 0);
  if (!strcmp(cmd, "exec")) {
    if (n < 1) return usage("PATH required");
    execv(a[0], a);
    return done(errno);
  }
  if (!strncmp(cmd, "mnt_", 4)) return mount_act(cmd, n, a);
  return usage("unknown command");
}

/* A pid as given: a number, or @FILE holding one. */
static pid_t pid_arg(const char *s) {
  long v = -1;
  if (s[0] == '@') {
    FILE *f = fopen(s + 1, "r");
    if (!f || fscanf(f, "%ld", &v) != 1) v = -1;
    if (f) fclose(f);
  } else {
    v = atol(s);
  }
  return v > 0 ? (pid_t)v : -1;
}

/* Wait for the acting child and end as it did. */
static int relay(pid_t child) {
  int status;
  if (waitpid(child, &status, 0) < 0) return usage("waitpid");
  if (WIFSIGNALED(status)) {
    signal(WTERMSIG(status), SIG_DFL);
    raise(WTERMSIG(status));
  }
  return WEXITSTATUS(status);
}

/* The acting child: it says who it is, then attempts. */
static int child_act(const char *cmd, int n, char **a) {
  printf("pid %d\n", getpid());
  fflush(stdout);
  _exit(act(cmd, n, a));
}

/* --main-exits: what the second thread attempts, once the main thread has ended */
static struct {
  pthread_t main;
  const char *cmd;
  int n;
  char **a;
} late;

static void *late_act(void *unused) {
  (void)unused;
  pthread_join(late.main, NULL); /* the main thread has ended (pthread_exit) */
  exit(act(late.cmd, late.n, late.a));
}

int main(int argc, char **argv) {
  int i = 1, pidns = 0, main_exits = 0;
  pid_t as_pid = 0;
  for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
    if (!strcmp(argv[i], "--hold") && i + 1 < argc) {
      hold_ms = atol(argv[++i]);
    } else if (!strcmp(argv[i], "--unshare-pid")) {
      /* this process stays in its pid namespace: only its future children move */
      if (unshare(CLONE_NEWPID) < 0) return usage("unshare(CLONE_NEWPID)");
    } else if (!strcmp(argv[i], "--pidns")) {
      pidns = 1;
    } else if (!strcmp(argv[i], "--ids") && i + 1 < argc) {
      unsigned r, e;
      if (sscanf(argv[++i], "%u:%u", &r, &e) != 2) return usage("--ids RUID:EUID");
      if (setresuid(r, e, e) < 0) return usage("setresuid");
    } else if (!strcmp(argv[i], "--bind") && i + 2 < argc) {
      /* the mount stays in this process's own mount namespace */
      if (unshare(CLONE_NEWNS) < 0) return usage("unshare(CLONE_NEWNS)");
      if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return usage("mount --make-rprivate /");
      if (mount(argv[i + 1], argv[i + 2], NULL, MS_BIND, NULL) < 0) return usage("mount --bind");
      i += 2;
    } else if (!strcmp(argv[i], "--chroot") && i + 1 < argc) {
      if (chroot(argv[++i]) < 0 || chdir("/") < 0) return usage("chroot");
    } else if (!strcmp(argv[i], "--drop") && i + 1 < argc) {
      unsigned u, g;
      if (sscanf(argv[++i], "%u:%u", &u, &g) != 2) return usage("--drop UID:GID");
      if (prctl(PR_SET_KEEPCAPS, 1) < 0 || setgroups(0, NULL) < 0 || setresgid(g, g, g) < 0 ||
          setresuid(u, u, u) < 0)
        return usage("--drop");
    } else if (!strcmp(argv[i], "--raise")) {
      if (raise_effective()) return usage("--raise");
    } else if (!strcmp(argv[i], "--main-exits")) {
      main_exits = 1;
    } else if (!strcmp(argv[i], "--as-pid") && i + 1 < argc) {
      as_pid = pid_arg(argv[++i]);
      if (as_pid < 0) return usage("--as-pid PID|@FILE");
    } else {
      return usage("unknown option");
    }
  }
  if (i >= argc) return usage("no command");
  const char *cmd = argv[i++];
  int n = argc - i;
  char **a = argv + i;

  if (main_exits) {
    pthread_t t;
    late.main = pthread_self();
    late.cmd = cmd, late.n = n, late.a = a;
    if (pthread_create(&t, NULL, late_act, NULL)) return usage("pthread_create");
    pthread_exit(NULL);
  }
  if (pidns) {
    if (unshare(CLONE_NEWPID) < 0) return usage("unshare(CLONE_NEWPID)");
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) return usage("fork");
    if (child == 0) {
      /* pid 1 of the new namespace; /proc is still the initial one's, so /proc/self names the host pid */
      char self[32] = "";
      if (readlink("/proc/self", self, sizeof self - 1) <= 0) _exit(usage("readlink /proc/self"));
      printf("pid %s\n", self);
      fflush(stdout);
      _exit(act(cmd, n, a));
    }
    return relay(child);
  }
  if (as_pid) {
    /* the pid a dead process had: clone3 with set_tid (CAP_SYS_ADMIN), as a pid-reuse attack would get it */
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.exit_signal = SIGCHLD;
    ca.set_tid = (uint64_t)(uintptr_t)&as_pid;
    ca.set_tid_size = 1;
    fflush(stdout);
    long child = syscall(SYS_clone3, &ca, sizeof ca);
    if (child < 0) {
      fprintf(stderr, "attack: clone3 set_tid %d: %s\n", (int)as_pid, strerror(errno));
      return 255;
    }
    if (child == 0) child_act(cmd, n, a);
    return relay((pid_t)child);
  }
  return act(cmd, n, a);
}
