// execattack: ways to run a program other than execve of its path, as an
// intruder would against an exec rule. Each command makes one attempt and
// prints "ok" or "errno N NAME" on stdout, exiting with that errno (0 when the
// program ran, or was mapped executable). Usage errors exit 255. See
// test/attacks/README.md.
//
//   execattack COMMAND ARGS...
//
// Commands that run a program do it in a child (its stdout and stderr
// silenced) and print "pid N", the child's pid, first: the child is the
// process that execs, and the one an event names. "ok" means the program ran
// and exited 0; a child killed by a signal ends this process by the same
// signal.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOADER "/lib64/ld-linux-x86-64.so.2"

extern char **environ;

static int done(int err) {
  if (err == 0)
    printf("ok\n");
  else
    printf("errno %d %s\n", err, strerrorname_np(err) ? strerrorname_np(err) : "?");
  fflush(stdout);
  return err;
}

static int usage(const char *why) {
  fprintf(stderr,
          "execattack: %s\n"
          "usage: execattack COMMAND ARGS...\n"
          "  run PATH [ARGS...]       execve PATH in a child\n"
          "  ldso PATH [ARGS...]      run PATH through the dynamic loader (" LOADER " PATH)\n"
          "  mmap PATH                map PATH with PROT_READ|PROT_EXEC\n"
          "  mprotect PATH            map PATH PROT_READ, then mprotect it PROT_READ|PROT_EXEC\n"
          "  memfd SRC [ARGS...]      copy SRC into a memfd and fexecve it in a child\n"
          "  tmpfile DIR SRC [ARGS...] copy SRC into an O_TMPFILE file in DIR and fexecve it\n"
          "  deleted DIR SRC [ARGS...] copy SRC into DIR, open it, unlink it, exec /proc/self/fd/N\n",
          why);
  return 255;
}

/* End as the child ended: "ok" for exit 0, its signal for a signal, else "exit N". */
static int ended(int status) {
  if (WIFSIGNALED(status)) {
    fflush(stdout);
    signal(WTERMSIG(status), SIG_DFL);
    raise(WTERMSIG(status));
  }
  if (WEXITSTATUS(status) == 0) return done(0);
  printf("exit %d\n", WEXITSTATUS(status));
  fflush(stdout);
  return 254;
}

/*
 * Fork a child that execs: fd >= 0 is execveat(fd, "", AT_EMPTY_PATH), else
 * execv(path). An exec that fails sends its errno through a close-on-exec
 * pipe. errfd >= 0 receives the child's stderr (else /dev/null).
 */
static int spawn(int fd, const char *path, char **argv, int errfd, int *status) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return usage("pipe");
  fflush(stdout);
  pid_t child = fork();
  if (child < 0) return usage("fork");
  if (child == 0) {
    int null = open("/dev/null", O_WRONLY);
    printf("pid %d\n", getpid());
    fflush(stdout);
    dup2(null, 1);
    dup2(errfd >= 0 ? errfd : null, 2);
    if (fd >= 0)
      syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
    else
      execv(path, argv);
    int err = errno;
    if (write(p[1], &err, sizeof err) < 0) _exit(253);
    _exit(253);
  }
  close(p[1]);
  if (errfd >= 0) close(errfd);
  int err = 0;
  ssize_t n = read(p[0], &err, sizeof err);
  close(p[0]);
  if (waitpid(child, status, 0) < 0) return usage("waitpid");
  return n == sizeof err ? err : 0;
}

static int run(int fd, const char *path, char **argv) {
  int status;
  int err = spawn(fd, path, argv, -1, &status);
  return err ? done(err) : ended(status);
}

/*
 * The loader does not pass the errno on: a mapping the kernel refused reads
 * "...: failed to map segment from shared object" (glibc 2.36 adds no errno
 * to it; later ones may add ": Operation not permitted"). Either is reported
 * as EPERM, the only refusal of an mmap of a readable file opened here.
 */
#define LOADER_MAP_REFUSED "failed to map segment from shared object"
static int ldso(int n, char **a) {
  char *argv[64] = {LOADER};
  int p[2], status;
  char out[4096] = "";
  if (n < 1 || n > 60) return usage("PATH required");
  for (int i = 0; i < n; i++) argv[i + 1] = a[i];
  if (pipe(p) < 0) return usage("pipe");
  int err = spawn(-1, LOADER, argv, p[1], &status);
  if (err) return done(err);
  ssize_t len = read(p[0], out, sizeof out - 1);
  out[len > 0 ? len : 0] = 0;
  if (strstr(out, strerror(EPERM)) || strstr(out, LOADER_MAP_REFUSED)) return done(EPERM);
  if (out[0]) fprintf(stderr, "%s", out);
  return ended(status);
}

static int map_exec(const char *path, int via_mprotect) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return usage("open");
  void *m = mmap(0, 4096, via_mprotect ? PROT_READ : PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) return done(errno);
  if (via_mprotect && mprotect(m, 4096, PROT_READ | PROT_EXEC) < 0) return done(errno);
  return done(0);
}

/* Copy SRC into fd; then a read-only descriptor of the same file (an exec refuses a file open for writing). */
static int copy_reopen(int fd, const char *src) {
  char self[64];
  struct stat st;
  int in = open(src, O_RDONLY);
  if (in < 0 || fstat(in, &st) < 0) return -1;
  for (off_t off = 0; off < st.st_size;)
    if (sendfile(fd, in, &off, st.st_size - off) <= 0) return -1;
  close(in);
  if (fchmod(fd, 0755) < 0 && errno != EINVAL) return -1;
  snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  int ro = open(self, O_RDONLY | O_CLOEXEC);
  close(fd);
  return ro;
}

static int fileless(const char *how, int n, char **a) {
  int dir = strcmp(how, "memfd") != 0;
  if (n < 1 + dir) return usage(dir ? "DIR SRC required" : "SRC required");
  const char *src = a[dir];
  char **argv = a + dir;
  int fd;
  char path[4096];
  if (!strcmp(how, "memfd")) {
    fd = memfd_create("payload", MFD_CLOEXEC);
  } else if (!strcmp(how, "tmpfile")) {
    fd = open(a[0], O_TMPFILE | O_RDWR | O_CLOEXEC, 0755);
  } else {
    snprintf(path, sizeof path, "%s/payload.%d", a[0], getpid());
    fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0755);
  }
  if (fd < 0) return usage("cannot create the file");
  fd = copy_reopen(fd, src);
  if (fd < 0) return usage("cannot copy SRC");
  if (!strcmp(how, "deleted")) {
    char self[64];
    unlink(path);
    /* the descriptor must survive the exec's path lookup: not close-on-exec until then */
    fcntl(fd, F_SETFD, 0);
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    return run(-1, self, argv);
  }
  return run(fd, 0, argv);
}

int main(int argc, char **argv) {
  if (argc < 2) return usage("no command");
  const char *cmd = argv[1];
  int n = argc - 2;
  char **a = argv + 2;
  if (!strcmp(cmd, "run")) return n < 1 ? usage("PATH required") : run(-1, a[0], a);
  if (!strcmp(cmd, "ldso")) return ldso(n, a);
  if (!strcmp(cmd, "mmap") || !strcmp(cmd, "mprotect"))
    return n < 1 ? usage("PATH required") : map_exec(a[0], cmd[1] == 'p');
  if (!strcmp(cmd, "memfd") || !strcmp(cmd, "tmpfile") || !strcmp(cmd, "deleted")) return fileless(cmd, n, a);
  return usage("unknown command");
}
