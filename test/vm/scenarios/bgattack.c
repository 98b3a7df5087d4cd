// bgattack: one privileged action per run, as an intruder would perform it,
// for the guest end-to-end and attack suites (test/vm/e2e.test.ts,
// test/vm/attacks.test.ts). Built on the host by test/support/guest-scenario.ts into
// .cache/vm/build/ and run in the guest through the shared root.
//
//   bgattack [--cgroup DIR] [--pidns] OP [ARGS...]
//
// --cgroup DIR   move this process into cgroup DIR first (writes 0 to cgroup.procs)
// --pidns        act from a new pid and mount namespace (a "container"): the
//                action runs in a forked child, whose host pid is reported
//
// Prints one JSON line: {"op","pid","ok","errno","error","detail"} where pid is
// the acting process's pid in the initial pid namespace and error the errno's
// name (EPERM); exits 0 when the action succeeded, 1 when it failed, 2 on a
// usage or set-up error. `exec` replaces the process on success: the program's
// own output and exit status are the result.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *op_name = "";
static pid_t acting_pid;

static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

/* report and exit: err == 0 is success */
static void report(int err, const char *detail) {
  printf("{\"op\":");
  json_str(op_name);
  printf(",\"pid\":%d,\"ok\":%s,\"errno\":%d,\"error\":", (int)acting_pid, err ? "false" : "true", err);
  json_str(err ? (strerrorname_np(err) ? strerrorname_np(err) : "?") : "");
  printf(",\"detail\":");
  json_str(detail ? detail : "");
  printf("}\n");
  fflush(stdout);
  exit(err ? 1 : 0);
}

static void result(long rc, const char *detail) { report(rc < 0 ? errno : 0, detail); }

static void usage(const char *why) {
  fprintf(stderr, "bgattack: %s\n", why);
  exit(2);
}

static void need(int argc, int n) {
  if (argc < n) usage("missing arguments");
}

static void move_to_cgroup(const char *dir) {
  char p[4096];
  snprintf(p, sizeof p, "%s/cgroup.procs", dir);
  int fd = open(p, O_WRONLY);
  if (fd < 0 || write(fd, "0", 1) != 1) {
    fprintf(stderr, "bgattack: cannot join %s: %s\n", dir, strerror(errno));
    exit(2);
  }
  close(fd);
}

static int op_bpf_prog_load(void) {
  // the smallest socket filter: r0 = 0; exit
  struct bpf_insn insns[2];
  memset(insns, 0, sizeof insns);
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].dst_reg = BPF_REG_0;
  insns[1].code = BPF_JMP | BPF_EXIT;
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = (uint64_t)(uintptr_t)insns;
  attr.insn_cnt = 2;
  attr.license = (uint64_t)(uintptr_t) "GPL";
  return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
}

/* drop to uid/gid 1000 keeping CAP_SETUID, then ask for root */
static void op_setuid_root(void) {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) usage("PR_SET_KEEPCAPS");
  if (setgroups(0, NULL) < 0 || setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
    usage("cannot drop to uid 1000");
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  d[0].effective = d[0].permitted = 1u << CAP_SETUID;
  if (syscall(SYS_capset, &h, d) < 0) usage("capset CAP_SETUID");
  char detail[64];
  long rc = setuid(0);
  int e = errno;
  snprintf(detail, sizeof detail, "uid=%d euid=%d", (int)getuid(), (int)geteuid());
  errno = e;
  result(rc, detail);
}

static void op_ptrace_attach(const char *arg) {
  pid_t target;
  if (arg[0] == '@') {
    FILE *f = fopen(arg + 1, "r");
    if (!f || fscanf(f, "%d", &target) != 1) usage("cannot read the target pid file");
    fclose(f);
  } else {
    target = atoi(arg);
  }
  long rc = ptrace(PTRACE_ATTACH, target, 0, 0);
  int e = errno;
  char detail[32];
  snprintf(detail, sizeof detail, "target=%d", (int)target);
  if (rc == 0) {
    waitpid(target, NULL, __WALL);
    ptrace(PTRACE_DETACH, target, 0, 0);
  }
  errno = e;
  result(rc, detail);
}

static void op_connect(int type, const char *addr, const char *port) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) result(-1, "socket");
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)atoi(port));
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) usage("bad IPv4 address");
  result(connect(fd, (struct sockaddr *)&sa, sizeof sa), NULL);
}

static void op_sysctl_write(const char *name, const char *value) {
  char p[512];
  snprintf(p, sizeof p, "/proc/sys/%s", name);
  for (char *c = p + strlen("/proc/sys/"); *c; c++)
    if (*c == '.') *c = '/';
  char old[4096] = "";
  int rfd = open(p, O_RDONLY);
  if (rfd >= 0) {
    ssize_t n = read(rfd, old, sizeof old - 1);
    old[n > 0 ? n : 0] = 0;
    close(rfd);
  }
  // "-" writes back the current value: the attempt without the damage
  const char *v = strcmp(value, "-") == 0 ? old : value;
  int fd = open(p, O_WRONLY);
  if (fd < 0) result(-1, "open");
  result(write(fd, v, strlen(v)) < 0 ? -1 : 0, "write");
}

static void op_copy(const char *src, const char *dst) {
  int in = open(src, O_RDONLY);
  if (in < 0) usage("cannot open the source");
  int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (out < 0) result(-1, "open destination");
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) result(-1, "write");
  close(out);
  close(in);
}

/*
 * uprobe cases: a user-space function with a known symbol (not inlined). The
 * line it returns is built at run time, as readline builds its own: a probe
 * cannot fault in a page the process never touched.
 */
static char uprobe_line[64];
__attribute__((noinline, used)) const char *bg_uprobe_line(const char *word) {
  snprintf(uprobe_line, sizeof uprobe_line, "typed %s", word);
  return uprobe_line;
}

static void act(int argc, char **argv) {
  op_name = argv[0];
  const char *op = argv[0];
  if (!strcmp(op, "exec")) {
    need(argc, 2);
    execv(argv[1], argv + 1);
    result(-1, argv[1]);
  } else if (!strcmp(op, "drop-exec")) {
    // write a payload into a temporary directory, then run it
    need(argc, 3);
    op_copy(argv[1], argv[2]);
    execl(argv[2], argv[2], (char *)NULL);
    result(-1, argv[2]);
  } else if (!strcmp(op, "read")) {
    need(argc, 2);
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) result(-1, "open");
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    char detail[32];
    snprintf(detail, sizeof detail, "bytes=%zd", n);
    result(n < 0 ? -1 : 0, detail);
  } else if (!strcmp(op, "write")) {
    need(argc, 2);
    int fd = open(argv[1], O_WRONLY | O_APPEND);
    if (fd < 0) result(-1, "open");
    result(write(fd, "x\n", 2) < 0 ? -1 : 0, "write");
  } else if (!strcmp(op, "open-write")) {
    // the open alone (a device whose write would do harm: /dev/mem)
    need(argc, 2);
    result(open(argv[1], O_WRONLY), "open");
  } else if (!strcmp(op, "truncate-open")) {
    // open(O_WRONLY|O_TRUNC): the open itself empties the file
    need(argc, 2);
    result(open(argv[1], O_WRONLY | O_TRUNC), "open");
  } else if (!strcmp(op, "unlink")) {
    need(argc, 2);
    result(unlink(argv[1]), NULL);
  } else if (!strcmp(op, "rename")) {
    need(argc, 3);
    result(rename(argv[1], argv[2]), NULL);
  } else if (!strcmp(op, "chmod")) {
    need(argc, 3);
    result(chmod(argv[1], (mode_t)strtol(argv[2], NULL, 8)), NULL);
  } else if (!strcmp(op, "sethostname")) {
    char name[256] = "";
    gethostname(name, sizeof name - 1);
    result(sethostname(name, strlen(name)), name);
  } else if (!strcmp(op, "raw-socket")) {
    result(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), NULL);
  } else if (!strcmp(op, "packet-socket")) {
    result(socket(AF_PACKET, SOCK_RAW, htons(3 /* ETH_P_ALL */)), NULL);
  } else if (!strcmp(op, "finit-module")) {
    need(argc, 2);
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) usage("cannot open the module");
    result(syscall(SYS_finit_module, fd, "", 0), argv[1]);
  } else if (!strcmp(op, "bpf-prog-load")) {
    result(op_bpf_prog_load(), NULL);
  } else if (!strcmp(op, "ptrace-attach")) {
    need(argc, 2);
    op_ptrace_attach(argv[1]);
  } else if (!strcmp(op, "mount")) {
    need(argc, 4);
    mkdir(argv[2], 0755);
    result(mount(argv[1], argv[2], argv[3], 0, argc > 4 ? argv[4] : NULL), argv[2]);
  } else if (!strcmp(op, "setuid-root")) {
    op_setuid_root();
  } else if (!strcmp(op, "setgid")) {
    need(argc, 2);
    result(setgid((gid_t)atoi(argv[1])), NULL);
  } else if (!strcmp(op, "connect")) {
    need(argc, 3);
    op_connect(SOCK_STREAM, argv[1], argv[2]);
  } else if (!strcmp(op, "uprobe-line")) {
    need(argc, 2);
    result(0, bg_uprobe_line(argv[1]));
  } else if (!strcmp(op, "sysctl-write")) {
    need(argc, 3);
    op_sysctl_write(argv[1], argv[2]);
  } else {
    usage("unknown operation");
  }
}

int main(int argc, char **argv) {
  int i = 1, pidns = 0;
  for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
    if (!strcmp(argv[i], "--cgroup") && i + 1 < argc) move_to_cgroup(argv[++i]);
    else if (!strcmp(argv[i], "--pidns")) pidns = 1;
    else usage("unknown option");
  }
  if (i >= argc) usage("no operation");
  acting_pid = getpid();
  if (pidns) {
    // mount namespace first, made private while this process is still a host
    // process (bpfgate counts a process whose children get a new pid
    // namespace as a container's), then the pid namespace for the child
    if (unshare(CLONE_NEWNS) < 0) usage("unshare mount namespace");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) usage("private mounts");
    if (unshare(CLONE_NEWPID) < 0) usage("unshare pid namespace");
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) usage("fork");
    if (child == 0) {
      // pid 1 of the new namespace; /proc is still the host's, so /proc/self
      // names the pid in the initial namespace (the one events carry)
      char self[32] = "";
      if (readlink("/proc/self", self, sizeof self - 1) > 0) acting_pid = atoi(self);
      act(argc - i, argv + i);
    }
    acting_pid = child;
    int status;
    if (waitpid(child, &status, 0) < 0) usage("waitpid");
    if (WIFSIGNALED(status)) {
      // the child died without a word (killed by bpfgate after its call, for
      // one): say whose pid acted, then die the same way
      printf("{\"op\":\"%s\",\"pid\":%d,\"ok\":false,\"errno\":0,\"error\":\"%s\",\"detail\":\"child killed\"}\n",
             argv[i], (int)child, strsignal(WTERMSIG(status)));
      fflush(stdout);
      raise(WTERMSIG(status));
    }
    return WEXITSTATUS(status);
  }
  act(argc - i, argv + i);
  return 0;
}
