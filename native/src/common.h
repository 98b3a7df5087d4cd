/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared helpers of the bpfgate addon: argument parsing, typed handles,
 * errors that carry errno, the failing operation and libbpf's recent log.
 *
 * Every exported function starts with BG_ENTER, which clears the captured
 * libbpf log, so an error carries only what libbpf printed during that call.
 */
#ifndef BG_COMMON_H
#define BG_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <node_api.h>

#define BG_MAX_ARGS 8

static inline bool bg_too_few(size_t argc, size_t n)
{
	return argc < n;
}

/* Bail out of an exported function when a N-API call fails (an exception is pending). */
#define NAPI_OK(call)                                                                           \
	do {                                                                                    \
		if ((call) != napi_ok) {                                                        \
			bg_throw_napi(env, #call);                                              \
			return NULL;                                                            \
		}                                                                               \
	} while (0)

/* Parse the arguments; an exception is pending when it returns false. */
#define BG_ENTER(n)                                                                             \
	size_t argc = (n);                                                                      \
	napi_value argv[BG_MAX_ARGS > (n) ? BG_MAX_ARGS : (n)];                                 \
	bg_log_reset();                                                                         \
	NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));                          \
	if (bg_too_few(argc, (n))) {                                                            \
		napi_throw_type_error(env, "ERR_INVALID_ARG", "too few arguments");             \
		return NULL;                                                                    \
	}

/* ---- the libbpf log of the current call ---- */
void bg_log_install(void);
void bg_log_reset(void);
void bg_log_set_debug(bool on);
const char *bg_log_text(void);

/* ---- errors ---- */
/* Throw an Error with errno (positive), op and libbpfLog; returns NULL for `return bg_throw(...)`. */
napi_value bg_throw(napi_env env, const char *op, int err, const char *detail);
napi_value bg_make_error(napi_env env, const char *op, int err, const char *detail);
void bg_throw_napi(napi_env env, const char *what);

/* ---- arguments (each throws a TypeError and returns false on a bad value) ---- */
bool bg_arg_string(napi_env env, napi_value v, char *buf, size_t size);
/* null or undefined -> buf[0] = 0 and *present = false */
bool bg_arg_opt_string(napi_env env, napi_value v, char *buf, size_t size, bool *present);
bool bg_arg_i32(napi_env env, napi_value v, int32_t *out);
bool bg_arg_u32(napi_env env, napi_value v, uint32_t *out);
bool bg_arg_u64(napi_env env, napi_value v, uint64_t *out); /* number or bigint */
bool bg_arg_bool(napi_env env, napi_value v, bool *out);
/* a Buffer / Uint8Array; optional: null or undefined -> data NULL, len 0 */
bool bg_arg_bytes(napi_env env, napi_value v, void **data, size_t *len, bool optional);

/* ---- handles: externals tagged with their kind ---- */
enum bg_kind {
	BG_H_OBJECT = 1,
	BG_H_LINK = 2,
	BG_H_FD = 3,
	BG_H_RINGBUF = 4,
};
napi_value bg_wrap(napi_env env, enum bg_kind kind, void *ptr, napi_finalize fin);
/* Returns the pointer, or NULL with a TypeError pending. */
void *bg_unwrap(napi_env env, napi_value v, enum bg_kind kind);

/* ---- values ---- */
napi_value bg_u32(napi_env env, uint32_t v);
napi_value bg_i32(napi_env env, int32_t v);
napi_value bg_str(napi_env env, const char *s);
napi_value bg_bool(napi_env env, bool b);
napi_value bg_null(napi_env env);
napi_value bg_undefined(napi_env env);
napi_value bg_buffer_copy(napi_env env, const void *data, size_t len);
bool bg_set(napi_env env, napi_value obj, const char *key, napi_value v);

/* ---- exports ---- */
typedef napi_value (*bg_fn)(napi_env, napi_callback_info);
struct bg_export {
	const char *name;
	bg_fn fn;
};
bool bg_export_all(napi_env env, napi_value exports, const struct bg_export *list, size_t n);

extern const struct bg_export bg_object_exports[];
extern const size_t bg_object_exports_n;
extern const struct bg_export bg_link_exports[];
extern const size_t bg_link_exports_n;
extern const struct bg_export bg_map_exports[];
extern const size_t bg_map_exports_n;
extern const struct bg_export bg_ringbuf_exports[];
extern const size_t bg_ringbuf_exports_n;

/* The file descriptor of a fd handle (for map/program fds given as handles). */
struct bg_fd {
	int fd;
};

struct bpf_object;
struct bpf_program;
struct bpf_map;

/* An opened BPF object (NULL after close). */
struct bg_object {
	struct bpf_object *obj;
};

/* Look up by name in an object handle; NULL with an error pending (ENOENT: unknown name). */
struct bpf_program *bg_find_program(napi_env env, napi_value handle, napi_value name);
struct bpf_map *bg_find_map(napi_env env, napi_value handle, napi_value name);
struct bpf_object *bg_get_object(napi_env env, napi_value handle);

#endif
