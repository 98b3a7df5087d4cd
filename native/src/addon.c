/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfgate's one native binding: libbpf for Node.js through N-API.
 * This file: module set-up, libbpf's version, feature probes, the log, and two
 * host calls the daemon needs beside them (malloc_trim, a file's writers).
 * The typed API over these functions is src/kernel/binding.ts.
 */
#define _GNU_SOURCE /* F_SETLEASE, F_SETSIG */
#include "common.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

/* Helper names indexed by helper id, from the UAPI header's own list. */
#define BG_HELPER_NAME(x) #x
static const char *const helper_names[] = { __BPF_FUNC_MAPPER(BG_HELPER_NAME) };
#undef BG_HELPER_NAME
#define N_HELPERS (sizeof(helper_names) / sizeof(helper_names[0]))

/* libbpfVersion(): "1.1" */
static napi_value libbpf_version(napi_env env, napi_callback_info info)
{
	BG_ENTER(0);
	return bg_str(env, libbpf_version_string() + (libbpf_version_string()[0] == 'v' ? 1 : 0));
}

/* A list of names indexed by value: what libbpf calls each program/map/attach/link type. */
static napi_value type_names(napi_env env, const char *(*fn)(int))
{
	napi_value arr;
	uint32_t i;

	if (napi_create_array(env, &arr) != napi_ok)
		return NULL;
	for (i = 0; i < 1024; i++) {
		const char *s = fn((int)i);

		if (!s)
			break;
		napi_set_element(env, arr, i, bg_str(env, s));
	}
	return arr;
}

static const char *prog_type_str(int t)
{
	return libbpf_bpf_prog_type_str((enum bpf_prog_type)t);
}

static const char *map_type_str(int t)
{
	return libbpf_bpf_map_type_str((enum bpf_map_type)t);
}

static const char *attach_type_str(int t)
{
	return libbpf_bpf_attach_type_str((enum bpf_attach_type)t);
}

static const char *link_type_str(int t)
{
	return libbpf_bpf_link_type_str((enum bpf_link_type)t);
}

static const char *helper_str(int id)
{
	return id >= 0 && (size_t)id < N_HELPERS ? helper_names[id] : NULL;
}

/* typeNames(): { progTypes, mapTypes, attachTypes, linkTypes, helpers }, each indexed by value */
static napi_value type_names_js(napi_env env, napi_callback_info info)
{
	napi_value o;
	BG_ENTER(0);

	NAPI_OK(napi_create_object(env, &o));
	bg_set(env, o, "progTypes", type_names(env, prog_type_str));
	bg_set(env, o, "mapTypes", type_names(env, map_type_str));
	bg_set(env, o, "attachTypes", type_names(env, attach_type_str));
	bg_set(env, o, "linkTypes", type_names(env, link_type_str));
	bg_set(env, o, "helpers", type_names(env, helper_str));
	return o;
}

/* probeProgType(type): boolean */
static napi_value probe_prog_type(napi_env env, napi_callback_info info)
{
	uint32_t t;
	int r;
	BG_ENTER(1);

	if (!bg_arg_u32(env, argv[0], &t))
		return NULL;
	r = libbpf_probe_bpf_prog_type((enum bpf_prog_type)t, NULL);
	if (r < 0)
		return bg_throw(env, "probe_prog_type", r, NULL);
	return bg_bool(env, r == 1);
}

/* probeMapType(type): boolean */
static napi_value probe_map_type(napi_env env, napi_callback_info info)
{
	uint32_t t;
	int r;
	BG_ENTER(1);

	if (!bg_arg_u32(env, argv[0], &t))
		return NULL;
	r = libbpf_probe_bpf_map_type((enum bpf_map_type)t, NULL);
	if (r < 0)
		return bg_throw(env, "probe_map_type", r, NULL);
	return bg_bool(env, r == 1);
}

/*
 * Is the helper usable from this program type? libbpf 1.1's own probe
 * (libbpf_probe_bpf_helper) recognises only the verifier's older wording
 * ("unknown func"), so on newer kernels ("program of this type cannot use
 * helper") it answers yes to everything. The same probe, with both wordings:
 * load "call helper; exit" and read the verifier's verdict. Other verifier
 * complaints (argument types) mean the helper itself is allowed.
 */
static int probe_helper_load(enum bpf_prog_type type, uint32_t helper)
{
	static char log[4096];
	struct bpf_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = (int32_t)helper },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log), .log_level = 1);
	int fd;

	switch (type) {
	case BPF_PROG_TYPE_TRACING:
	case BPF_PROG_TYPE_EXT:
	case BPF_PROG_TYPE_LSM:
	case BPF_PROG_TYPE_STRUCT_OPS:
		return -EOPNOTSUPP; /* need a BTF attach target: probe by loading a real program */
	default:
		break;
	}
	log[0] = 0;
	fd = bpf_prog_load(type, NULL, "GPL", insns, sizeof(insns) / sizeof(insns[0]), &opts);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	fd = errno;
	if (strstr(log, "invalid func ") || strstr(log, "unknown func ") || strstr(log, "cannot use helper"))
		return 0;
	if (!log[0])
		return -fd; /* refused before verification (privilege, unknown program type) */
	return 1;
}

/* probeHelper(progType, helperId): boolean; EOPNOTSUPP for tracing, lsm, ext and struct_ops */
static napi_value probe_helper(napi_env env, napi_callback_info info)
{
	uint32_t t, h;
	int r;
	BG_ENTER(2);

	if (!bg_arg_u32(env, argv[0], &t) || !bg_arg_u32(env, argv[1], &h))
		return NULL;
	r = probe_helper_load((enum bpf_prog_type)t, h);
	if (r < 0)
		return bg_throw(env, "probe_helper", r, NULL);
	return bg_bool(env, r == 1);
}

/*
 * btfFunctions(names): boolean[]: which names are functions (BTF_KIND_FUNC) in
 * the running kernel's BTF (/sys/kernel/btf/vmlinux). A function the compiler
 * inlined everywhere, or one the kernel does not have, is not there, and no
 * fentry/fmod_ret program can attach to it.
 */
static napi_value btf_functions(napi_env env, napi_callback_info info)
{
	char name[256];
	napi_value out, v;
	struct btf *btf;
	uint32_t n = 0;
	bool is_array = false;
	BG_ENTER(1);

	NAPI_OK(napi_is_array(env, argv[0], &is_array));
	if (!is_array) {
		napi_throw_type_error(env, "ERR_INVALID_ARG", "expected an array of names");
		return NULL;
	}
	NAPI_OK(napi_get_array_length(env, argv[0], &n));
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return bg_throw(env, "btf_load_vmlinux", errno ? errno : ENOENT, NULL);
	if (napi_create_array_with_length(env, n, &out) != napi_ok) {
		btf__free(btf);
		bg_throw_napi(env, "napi_create_array_with_length");
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (napi_get_element(env, argv[0], i, &v) != napi_ok || !bg_arg_string(env, v, name, sizeof(name))) {
			btf__free(btf);
			return NULL;
		}
		napi_set_element(env, out, i, bg_bool(env, btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0));
	}
	btf__free(btf);
	return out;
}

/* lastLog(): what libbpf printed during the previous call (warnings included on success) */
static napi_value last_log(napi_env env, napi_callback_info info)
{
	/* No BG_ENTER: it would clear the log this returns. */
	return bg_str(env, bg_log_text());
}

/* setDebugLog(on): also capture libbpf's debug messages */
static napi_value set_debug_log(napi_env env, napi_callback_info info)
{
	BG_ENTER(1);
	bool on;

	if (!bg_arg_bool(env, argv[0], &on))
		return NULL;
	bg_log_set_debug(on);
	return bg_undefined(env);
}

/*
 * trimMemory(): give the C heap's free pages back to the system (glibc's
 * malloc_trim, every arena). Parsing and compiling a large policy set leave
 * megabytes free but resident; true when something was released.
 */
static napi_value trim_memory(napi_env env, napi_callback_info info)
{
	BG_ENTER(0);
	return bg_bool(env, malloc_trim(0) != 0);
}

/*
 * openForWrite(fd): whether the file `fd` (opened read-only) is open for
 * writing anywhere on the system at this instant: 0 no, 1 yes, -errno when
 * it cannot be told (a file system without leases, leases disabled). The
 * kernel refuses a read lease while any writer exists (a descriptor or a
 * shared writable mapping); the lease is taken and given back at once. Its
 * break signal is SIGURG, ignored by default: a writer opening in that
 * instant cannot deliver SIGIO, which would end the process.
 */
static napi_value open_for_write(napi_env env, napi_callback_info info)
{
	BG_ENTER(1);
	int32_t fd;

	if (!bg_arg_i32(env, argv[0], &fd))
		return NULL;
	if (fcntl(fd, F_SETSIG, SIGURG) < 0)
		return bg_i32(env, -errno);
	if (fcntl(fd, F_SETLEASE, F_RDLCK) < 0)
		return bg_i32(env, errno == EAGAIN ? 1 : -errno);
	if (fcntl(fd, F_SETLEASE, F_UNLCK) < 0)
		return bg_i32(env, -errno);
	return bg_i32(env, 0);
}

static const struct bg_export addon_exports[] = {
	{ "libbpfVersion", libbpf_version },
	{ "typeNames", type_names_js },
	{ "probeProgType", probe_prog_type },
	{ "probeMapType", probe_map_type },
	{ "probeHelper", probe_helper },
	{ "btfFunctions", btf_functions },
	{ "lastLog", last_log },
	{ "setDebugLog", set_debug_log },
	{ "trimMemory", trim_memory },
	{ "openForWrite", open_for_write },
};

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */)
{
	bg_log_install();
	if (!bg_export_all(env, exports, addon_exports, sizeof(addon_exports) / sizeof(addon_exports[0])) ||
	    !bg_export_all(env, exports, bg_object_exports, bg_object_exports_n) ||
	    !bg_export_all(env, exports, bg_link_exports, bg_link_exports_n) ||
	    !bg_export_all(env, exports, bg_map_exports, bg_map_exports_n) ||
	    !bg_export_all(env, exports, bg_ringbuf_exports, bg_ringbuf_exports_n)) {
		bg_throw_napi(env, "bpfgate: export");
		return NULL;
	}
	return exports;
}
