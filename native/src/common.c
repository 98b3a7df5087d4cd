/* SPDX-License-Identifier: Apache-2.0 */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

/*
 * libbpf prints warnings and the verifier log through one global callback.
 * We keep the tail of what it printed since the current call began: the
 * verifier's verdict is at the end of its log, so the tail is what matters.
 * The addon is used from one JavaScript thread.
 */
#define BG_LOG_CAP (16 * 1024)

static char log_buf[BG_LOG_CAP + 1];
static size_t log_len;
static bool log_debug;

static void log_append(const char *s, size_t n)
{
	if (n >= BG_LOG_CAP) {
		s += n - BG_LOG_CAP;
		n = BG_LOG_CAP;
		log_len = 0;
	} else if (log_len + n > BG_LOG_CAP) {
		size_t drop = log_len + n - BG_LOG_CAP;
		memmove(log_buf, log_buf + drop, log_len - drop);
		log_len -= drop;
	}
	memcpy(log_buf + log_len, s, n);
	log_len += n;
	log_buf[log_len] = 0;
}

static int log_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char small[512];
	va_list aq;
	int n;

	if (level == LIBBPF_DEBUG && !log_debug)
		return 0;
	va_copy(aq, ap);
	n = vsnprintf(small, sizeof(small), fmt, aq);
	va_end(aq);
	if (n < 0)
		return 0;
	if ((size_t)n < sizeof(small)) {
		log_append(small, (size_t)n);
		return n;
	}
	{
		char *big = malloc((size_t)n + 1);

		if (!big)
			return 0;
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		log_append(big, (size_t)n);
		free(big);
	}
	return n;
}

void bg_log_install(void)
{
	libbpf_set_print(log_print);
}

void bg_log_reset(void)
{
	log_len = 0;
	log_buf[0] = 0;
}

void bg_log_set_debug(bool on)
{
	log_debug = on;
}

const char *bg_log_text(void)
{
	return log_buf;
}

/* ---- errors ---- */

napi_value bg_make_error(napi_env env, const char *op, int err, const char *detail)
{
	char msg[768];
	napi_value e = NULL, m;

	if (err < 0)
		err = -err;
	if (detail && detail[0])
		snprintf(msg, sizeof(msg), "%s: %s: %s (errno %d)", op, detail, strerror(err), err);
	else
		snprintf(msg, sizeof(msg), "%s: %s (errno %d)", op, strerror(err), err);
	if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
	    napi_create_error(env, NULL, m, &e) != napi_ok)
		return NULL;
	bg_set(env, e, "errno", bg_i32(env, err));
	bg_set(env, e, "op", bg_str(env, op));
	bg_set(env, e, "libbpfLog", bg_str(env, log_buf));
	return e;
}

napi_value bg_throw(napi_env env, const char *op, int err, const char *detail)
{
	napi_value e = bg_make_error(env, op, err, detail);

	if (e)
		napi_throw(env, e);
	return NULL;
}

void bg_throw_napi(napi_env env, const char *what)
{
	bool pending = false;

	if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
		return;
	napi_throw_error(env, "ERR_NAPI", what);
}

/* ---- arguments ---- */

static bool type_error(napi_env env, const char *msg)
{
	napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
	return false;
}

static bool is_nullish(napi_env env, napi_value v)
{
	napi_valuetype t;

	return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

bool bg_arg_string(napi_env env, napi_value v, char *buf, size_t size)
{
	size_t len = 0;

	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
		return type_error(env, "expected a string");
	if (len + 1 > size)
		return type_error(env, "string too long");
	if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok)
		return type_error(env, "expected a string");
	return true;
}

bool bg_arg_opt_string(napi_env env, napi_value v, char *buf, size_t size, bool *present)
{
	*present = false;
	buf[0] = 0;
	if (is_nullish(env, v))
		return true;
	*present = true;
	return bg_arg_string(env, v, buf, size);
}

bool bg_arg_i32(napi_env env, napi_value v, int32_t *out)
{
	if (napi_get_value_int32(env, v, out) != napi_ok)
		return type_error(env, "expected a number");
	return true;
}

bool bg_arg_u32(napi_env env, napi_value v, uint32_t *out)
{
	if (napi_get_value_uint32(env, v, out) != napi_ok)
		return type_error(env, "expected a number");
	return true;
}

bool bg_arg_u64(napi_env env, napi_value v, uint64_t *out)
{
	napi_valuetype t;
	bool lossless;

	if (napi_typeof(env, v, &t) != napi_ok)
		return type_error(env, "expected a number or bigint");
	if (t == napi_bigint) {
		if (napi_get_value_bigint_uint64(env, v, out, &lossless) != napi_ok || !lossless)
			return type_error(env, "bigint out of range (u64)");
		return true;
	}
	if (t == napi_number) {
		double d;

		if (napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > 9007199254740991.0 ||
		    d != (double)(uint64_t)d)
			return type_error(env, "expected a non-negative integer");
		*out = (uint64_t)d;
		return true;
	}
	return type_error(env, "expected a number or bigint");
}

bool bg_arg_bool(napi_env env, napi_value v, bool *out)
{
	if (napi_get_value_bool(env, v, out) != napi_ok)
		return type_error(env, "expected a boolean");
	return true;
}

bool bg_arg_bytes(napi_env env, napi_value v, void **data, size_t *len, bool optional)
{
	bool is = false;

	*data = NULL;
	*len = 0;
	if (optional && is_nullish(env, v))
		return true;
	if (napi_is_buffer(env, v, &is) == napi_ok && is)
		return napi_get_buffer_info(env, v, data, len) == napi_ok || type_error(env, "bad buffer");
	if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
		napi_typedarray_type t;
		size_t n, off;
		napi_value ab;

		if (napi_get_typedarray_info(env, v, &t, &n, data, &ab, &off) != napi_ok || t != napi_uint8_array)
			return type_error(env, "expected a Buffer or Uint8Array");
		*len = n;
		return true;
	}
	return type_error(env, "expected a Buffer or Uint8Array");
}

/* ---- handles ---- */

static const napi_type_tag tags[] = {
	{ 0, 0 },
	{ 0x6270666761746501ULL, 0x6f626a6563740000ULL }, /* object */
	{ 0x6270666761746502ULL, 0x6c696e6b00000000ULL }, /* link */
	{ 0x6270666761746503ULL, 0x6664000000000000ULL }, /* fd */
	{ 0x6270666761746504ULL, 0x72696e6700000000ULL }, /* ring buffer */
};

napi_value bg_wrap(napi_env env, enum bg_kind kind, void *ptr, napi_finalize fin)
{
	napi_value ext;

	if (napi_create_external(env, ptr, fin, NULL, &ext) != napi_ok) {
		/* NULL: the caller still owns ptr. */
		bg_throw_napi(env, "napi_create_external");
		return NULL;
	}
	/* From here on the external owns ptr (its finalizer frees it). Tagging
	 * fails only on invalid arguments; an untagged handle is refused by
	 * bg_unwrap, never misused. */
	napi_type_tag_object(env, ext, &tags[kind]);
	return ext;
}

void *bg_unwrap(napi_env env, napi_value v, enum bg_kind kind)
{
	bool ok = false;
	void *p = NULL;

	if (napi_check_object_type_tag(env, v, &tags[kind], &ok) != napi_ok || !ok ||
	    napi_get_value_external(env, v, &p) != napi_ok || !p) {
		type_error(env, "bad handle");
		return NULL;
	}
	return p;
}

/* ---- values ---- */

napi_value bg_u32(napi_env env, uint32_t v)
{
	napi_value r = NULL;

	napi_create_uint32(env, v, &r);
	return r;
}

napi_value bg_i32(napi_env env, int32_t v)
{
	napi_value r = NULL;

	napi_create_int32(env, v, &r);
	return r;
}

napi_value bg_str(napi_env env, const char *s)
{
	napi_value r = NULL;

	napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &r);
	return r;
}

napi_value bg_bool(napi_env env, bool b)
{
	napi_value r = NULL;

	napi_get_boolean(env, b, &r);
	return r;
}

napi_value bg_null(napi_env env)
{
	napi_value r = NULL;

	napi_get_null(env, &r);
	return r;
}

napi_value bg_undefined(napi_env env)
{
	napi_value r = NULL;

	napi_get_undefined(env, &r);
	return r;
}

napi_value bg_buffer_copy(napi_env env, const void *data, size_t len)
{
	napi_value r = NULL;
	void *out;

	if (napi_create_buffer_copy(env, len, len ? data : "", &out, &r) != napi_ok) {
		bg_throw_napi(env, "napi_create_buffer_copy");
		return NULL;
	}
	return r;
}

bool bg_set(napi_env env, napi_value obj, const char *key, napi_value v)
{
	return v && napi_set_named_property(env, obj, key, v) == napi_ok;
}

bool bg_export_all(napi_env env, napi_value exports, const struct bg_export *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		napi_value f;

		if (napi_create_function(env, list[i].name, NAPI_AUTO_LENGTH, list[i].fn, NULL, &f) != napi_ok ||
		    napi_set_named_property(env, exports, list[i].name, f) != napi_ok)
			return false;
	}
	return true;
}
