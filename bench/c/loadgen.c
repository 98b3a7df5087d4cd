// bpfgate bench load generator: issues one kind of checked system call in a
// loop, optionally paced, optionally timing each call. Built by the bench
// with `cc -O2`; never installed.
//
// usage: loadgen MODE ITERATIONS [--cgroup DIR] [--rate PER_SECOND] [--lat] [--target T]
//   socket-dgram | socket-stream   socket(AF_INET, ...) + close()
//   connect    T = a.b.c.d:port    connect() of one UDP socket, again and again
//   read       T = path            open + read + close (sysctl files, regular files)
//   open       T = path            open(O_RDONLY) + close (device nodes, files)
//   exec       T = path            fork + execve(T) + wait
//   sethostname                    sethostname(current name): a CAP_SYS_ADMIN check
//   socket-raw                     socket(AF_INET, SOCK_RAW, ICMP) + close(): a CAP_NET_RAW check
//   tcp-connect                    a TCP connect to its own loopback listener, accept, close both
// Prints one JSON line: {"mode","iterations","errors","seconds","medianNs","p99Ns"}.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void enter_cgroup(const char *dir) {
	char path[4096];
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	int fd = open(path, O_WRONLY);
	if (fd < 0 || dprintf(fd, "%d\n", getpid()) < 0) {
		fprintf(stderr, "loadgen: cannot enter %s: %s\n", dir, strerror(errno));
		exit(2);
	}
	close(fd);
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: loadgen MODE ITERATIONS [--cgroup DIR] [--rate N] [--lat] [--target T]\n");
		return 2;
	}
	const char *mode = argv[1];
	long iters = atol(argv[2]);
	const char *target = NULL;
	double rate = 0;
	int lat = 0;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--cgroup") && i + 1 < argc) enter_cgroup(argv[++i]);
		else if (!strcmp(argv[i], "--rate") && i + 1 < argc) rate = atof(argv[++i]);
		else if (!strcmp(argv[i], "--target") && i + 1 < argc) target = argv[++i];
		else if (!strcmp(argv[i], "--lat")) lat = 1;
		else {
			fprintf(stderr, "loadgen: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (iters <= 0 || iters > 100000000) return 2;
	uint64_t *samples = lat ? calloc((size_t)iters, sizeof *samples) : NULL;
	if (lat && !samples) return 2;

	int m = 0, udp = -1;
	struct sockaddr_in sin = {0};
	char host[256] = "";
	char buf[256];
	if (!strcmp(mode, "socket-dgram")) m = 1;
	else if (!strcmp(mode, "socket-stream")) m = 2;
	else if (!strcmp(mode, "socket-raw")) m = 8; /* checks CAP_NET_RAW */
	else if (!strcmp(mode, "connect")) {
		m = 3;
		char addr[64];
		const char *colon = target ? strrchr(target, ':') : NULL;
		if (!colon || colon - target >= (long)sizeof addr) return 2;
		memcpy(addr, target, (size_t)(colon - target));
		addr[colon - target] = 0;
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) return 2;
		udp = socket(AF_INET, SOCK_DGRAM, 0);
		if (udp < 0) return 3;
	} else if (!strcmp(mode, "tcp-connect")) {
		m = 9;
		socklen_t len = sizeof sin;
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		udp = socket(AF_INET, SOCK_STREAM, 0); /* the listener */
		if (udp < 0 || bind(udp, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(udp, 4096) != 0 ||
		    getsockname(udp, (struct sockaddr *)&sin, &len) != 0)
			return 3;
	} else if (!strcmp(mode, "read")) m = 4;
	else if (!strcmp(mode, "open")) m = 5;
	else if (!strcmp(mode, "exec")) m = 6;
	else if (!strcmp(mode, "sethostname")) {
		m = 7;
		if (gethostname(host, sizeof host - 1) != 0) return 3;
	} else {
		fprintf(stderr, "loadgen: unknown mode %s\n", mode);
		return 2;
	}
	if ((m >= 4 && m <= 6) && !target) return 2;

	long errors = 0;
	uint64_t period = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
	uint64_t start = now_ns(), next = start;
	for (long i = 0; i < iters; i++) {
		if (period) {
			// paced: sleep to the next slot when ahead, catch up (no sleep) when behind
			uint64_t t = now_ns();
			if (t < next) {
				struct timespec d = {(time_t)((next - t) / 1000000000ull), (long)((next - t) % 1000000000ull)};
				nanosleep(&d, NULL);
			}
			next += period;
		}
		uint64_t t0 = lat ? now_ns() : 0;
		int ok = 1;
		switch (m) {
		case 1:
		case 2: {
			int fd = socket(AF_INET, m == 1 ? SOCK_DGRAM : SOCK_STREAM, 0);
			if (fd < 0) ok = 0;
			else close(fd);
			break;
		}
		case 3:
			ok = connect(udp, (struct sockaddr *)&sin, sizeof sin) == 0;
			break;
		case 4: {
			int fd = open(target, O_RDONLY);
			if (fd < 0) ok = 0;
			else {
				ok = read(fd, buf, sizeof buf) >= 0;
				close(fd);
			}
			break;
		}
		case 5: {
			int fd = open(target, O_RDONLY);
			if (fd < 0) ok = 0;
			else close(fd);
			break;
		}
		case 6: {
			pid_t pid = fork();
			if (pid == 0) {
				char *const av[] = {(char *)target, NULL};
				char *const ev[] = {NULL};
				execve(target, av, ev);
				_exit(127);
			}
			int st = 0;
			ok = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
			break;
		}
		case 7:
			ok = sethostname(host, strlen(host)) == 0;
			break;
		case 8: {
			int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
			if (fd < 0) ok = 0;
			else close(fd);
			break;
		}
		case 9: {
			int c = socket(AF_INET, SOCK_STREAM, 0);
			ok = c >= 0 && connect(c, (struct sockaddr *)&sin, sizeof sin) == 0;
			if (ok) {
				int a = accept(udp, NULL, NULL);
				ok = a >= 0;
				if (a >= 0) close(a);
			}
			if (c >= 0) close(c);
			break;
		}
		}
		if (lat) samples[i] = now_ns() - t0;
		if (!ok) errors++;
	}
	double secs = (double)(now_ns() - start) / 1e9;
	uint64_t median = 0, p99 = 0;
	if (lat) {
		qsort(samples, (size_t)iters, sizeof *samples, cmp_u64);
		median = samples[iters / 2];
		p99 = samples[(long)((double)iters * 0.99)];
	}
	printf("{\"mode\":\"%s\",\"iterations\":%ld,\"errors\":%ld,\"seconds\":%.6f,\"medianNs\":%llu,\"p99Ns\":%llu}\n",
	       mode, iters, errors, secs, (unsigned long long)median, (unsigned long long)p99);
	return 0;
}
