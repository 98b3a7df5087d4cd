// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * bgload: load (never attach) the programs of a BPF object, one at a time,
 * and report which ones the running kernel's verifier accepts.
 *
 *   bgload OBJ [--only PREFIX]... [--skip PREFIX]... [-v] [--stats]
 *   bgload OBJ --pin DIR [--only PREFIX]... [--skip PREFIX]...
 *
 * With --pin, the selected programs are loaded together and pinned, unattached,
 * as DIR/<program>, and the maps as DIR/maps/<map> (for tests that attach them
 * to a cgroup of their own with bpftool).
 *
 * PREFIX matches the start of a program's section name ("lsm/", "cgroup/",
 * "tp_btf/", "raw_tracepoint/", "kprobe"). Exit status 0 when every selected
 * program loaded. Nothing is pinned or attached: the programs are freed on exit.
 * --stats adds the verifier's statistics line to each program loaded
 * ("processed N insns ...": the instructions it explored, against the
 * kernel's limit of 1,000,000).
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int verbose;
static int stats;
static char stats_log[1 << 12];
static char last_log[1 << 16];
static size_t last_len;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[4096];
	int n;

	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n > 0 && last_len + (size_t)n < sizeof(last_log)) {
		memcpy(last_log + last_len, line, (size_t)n);
		last_len += (size_t)n;
		last_log[last_len] = 0;
	}
	return 0;
}

static int selected(const char *sec, char **only, int nonly, char **skip, int nskip)
{
	for (int i = 0; i < nskip; i++)
		if (!strncmp(sec, skip[i], strlen(skip[i])))
			return 0;
	if (!nonly)
		return 1;
	for (int i = 0; i < nonly; i++)
		if (!strncmp(sec, only[i], strlen(only[i])))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	char *only[16], *skip[16], *path = NULL, *pin = NULL;
	int nonly = 0, nskip = 0, failed = 0, total = 0;
	struct bpf_object *obj;
	struct bpf_program *p;
	char names[128][64], secs[128][64];
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--only") && i + 1 < argc && nonly < 16)
			only[nonly++] = argv[++i];
		else if (!strcmp(argv[i], "--skip") && i + 1 < argc && nskip < 16)
			skip[nskip++] = argv[++i];
		else if (!strcmp(argv[i], "--pin") && i + 1 < argc)
			pin = argv[++i];
		else if (!strcmp(argv[i], "--stats"))
			stats = 1;
		else if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else
			path = argv[i];
	}
	if (!path) {
		fprintf(stderr, "usage: bgload OBJ [--only PREFIX]... [--skip PREFIX]... [-v] [--stats]\n");
		return 2;
	}
	libbpf_set_print(print_fn);

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(p, obj) {
		if (n >= 128)
			break;
		snprintf(names[n], sizeof(names[n]), "%s", bpf_program__name(p));
		snprintf(secs[n], sizeof(secs[n]), "%s", bpf_program__section_name(p));
		n++;
	}
	bpf_object__close(obj);

	if (pin) {
		char dir[512];
		int err;

		obj = bpf_object__open_file(path, NULL);
		if (!obj)
			return 1;
		bpf_object__for_each_program(p, obj)
			bpf_program__set_autoload(p, selected(bpf_program__section_name(p), only, nonly, skip, nskip));
		err = bpf_object__load(obj);
		if (err) {
			fputs(last_log, stderr);
			fprintf(stderr, "load: %s\n", strerror(-err));
			return 1;
		}
		snprintf(dir, sizeof(dir), "%s/maps", pin);
		err = bpf_object__pin_maps(obj, dir);
		bpf_object__for_each_program(p, obj) {
			if (err || !bpf_program__autoload(p))
				continue;
			snprintf(dir, sizeof(dir), "%s/%s", pin, bpf_program__name(p));
			err = bpf_program__pin(p, dir);
		}
		if (err) {
			fprintf(stderr, "pin: %s\n", strerror(-err));
			return 1;
		}
		printf("pinned under %s\n", pin);
		return 0;
	}

	for (int i = 0; i < n; i++) {
		int err;

		if (!selected(secs[i], only, nonly, skip, nskip))
			continue;
		total++;
		obj = bpf_object__open_file(path, NULL);
		if (!obj)
			return 1;
		bpf_object__for_each_program(p, obj) {
			bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), names[i]));
			if (stats && !strcmp(bpf_program__name(p), names[i])) {
				stats_log[0] = 0;
				bpf_program__set_log_buf(p, stats_log, sizeof(stats_log));
				bpf_program__set_log_level(p, 4); /* BPF_LOG_STATS */
			}
		}
		last_len = 0;
		last_log[0] = 0;
		err = bpf_object__load(obj);
		if (err) {
			failed++;
			printf("FAIL %-24s %-36s %s\n", names[i], secs[i], strerror(-err));
			fputs(last_log, stdout);
			/* with --stats the verifier's own words are in our buffer, not libbpf's */
			if (stats && stats_log[0])
				printf("     verifier: %s\n", stats_log);
		} else {
			p = bpf_object__find_program_by_name(obj, names[i]);
			printf("ok   %-24s %-36s insns=%zu\n", names[i], secs[i],
			       p ? bpf_program__insn_cnt(p) : 0);
			if (stats) {
				char *line = strstr(stats_log, "processed ");
				char *end = line ? strchr(line, '\n') : NULL;

				if (end)
					*end = 0;
				printf("     %s\n", line ? line : "(no verifier statistics)");
			}
		}
		bpf_object__close(obj);
	}
	printf("%d/%d programs loaded\n", total - failed, total);
	return failed ? 1 : 0;
}
