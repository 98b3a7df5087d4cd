/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A BPF ring buffer read on the libuv loop. The ring's epoll fd is watched
 * with uv_poll; when it is readable the records are copied out (the ring's
 * memory is reused) into one staging area and handed to JavaScript as one
 * Buffer plus record end offsets: one callback per wake-up. At most
 * `maxBatch` records are taken per wake-up; the rest stay in the ring, whose
 * fd stays readable, so the loop comes back to them after other work.
 *
 * Lifetime: while open, the handle keeps itself and the callback alive.
 * close() stops polling at once (also from inside the callback); the libbpf
 * ring is freed when libuv has closed the poll handle, the struct when both
 * that has happened and the handle was garbage-collected.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <uv.h>

struct bg_ring {
	napi_env env;
	uv_poll_t poll;
	struct ring_buffer *rb;
	int map_fd;            /* our dup of the map fd */
	napi_ref cb;           /* (err, data, ends) => void */
	napi_ref self;         /* keeps the handle alive while open */
	napi_async_context actx;
	bool polling;          /* uv_poll_init done: the handle must be uv_close'd */
	bool closed;           /* close() ran */
	bool handle_closed;    /* libuv finished closing the poll handle */
	bool finalized;        /* the JS handle is gone */
	bool stop;             /* the current batch is full */
	bool in_callback;      /* inside napi_make_callback with actx */
	uint32_t max_batch;
	uint32_t nrec;
	size_t nbytes, cap;
	uint8_t *staging;
	uint32_t *ends;        /* max_batch + 1 entries */
	uint64_t total;        /* records delivered since open */
};

static void ring_free(struct bg_ring *r)
{
	ring_buffer__free(r->rb); /* NULL-safe */
	r->rb = NULL;
	if (r->map_fd >= 0)
		close(r->map_fd);
	r->map_fd = -1;
	free(r->staging);
	free(r->ends);
	free(r);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct bg_ring *r = h->data;

	r->handle_closed = true;
	ring_buffer__free(r->rb);
	r->rb = NULL;
	if (r->finalized)
		ring_free(r);
}

/* Stop polling and release JS references. Safe to call more than once. */
static void ring_close(napi_env env, struct bg_ring *r, bool from_finalizer)
{
	if (r->closed)
		return;
	r->closed = true;
	if (r->polling) {
		uv_poll_stop(&r->poll);
		uv_close((uv_handle_t *)&r->poll, on_handle_closed);
	} else {
		r->handle_closed = true;
	}
	if (!from_finalizer) {
		if (r->cb)
			napi_delete_reference(env, r->cb);
		if (r->self)
			napi_delete_reference(env, r->self);
		/* Inside the callback the context is still in use: on_readable destroys it. */
		if (r->actx && !r->in_callback) {
			napi_async_destroy(env, r->actx);
			r->actx = NULL;
		}
	}
	r->cb = NULL;
	r->self = NULL;
}

static void ring_finalize(napi_env env, void *data, void *hint)
{
	struct bg_ring *r = data;

	/* Only reachable after close() (self keeps it alive), or at environment teardown. */
	ring_close(env, r, true);
	r->finalized = true;
	if (r->handle_closed)
		ring_free(r);
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct bg_ring *r = ctx;

	if (r->nbytes + size > r->cap) {
		size_t cap = r->cap ? r->cap : 65536;
		uint8_t *more;

		while (cap < r->nbytes + size)
			cap *= 2;
		more = realloc(r->staging, cap);
		if (!more)
			return -ENOMEM; /* this record is lost; the error reaches JS */
		r->staging = more;
		r->cap = cap;
	}
	memcpy(r->staging + r->nbytes, data, size);
	r->nbytes += size;
	r->ends[++r->nrec] = (uint32_t)r->nbytes;
	if (r->nrec >= r->max_batch) {
		r->stop = true;
		return -EAGAIN; /* libbpf keeps this record consumed and returns */
	}
	return 0;
}

/* Take up to max_batch records; 0 or a negative errno. */
static int take_batch(struct bg_ring *r)
{
	int n;

	r->nrec = 0;
	r->nbytes = 0;
	r->ends[0] = 0;
	r->stop = false;
	n = ring_buffer__consume(r->rb);
	if (n < 0 && !(r->stop && n == -EAGAIN))
		return n;
	return 0;
}

/* The batch as [data, ends]; NULL with an exception pending on failure. */
static bool batch_values(napi_env env, struct bg_ring *r, napi_value *data, napi_value *ends)
{
	napi_value ab;
	void *mem;

	*data = bg_buffer_copy(env, r->staging, r->nbytes);
	if (!*data)
		return false;
	if (napi_create_arraybuffer(env, (r->nrec + 1) * sizeof(uint32_t), &mem, &ab) != napi_ok ||
	    napi_create_typedarray(env, napi_uint32_array, r->nrec + 1, ab, 0, ends) != napi_ok) {
		bg_throw_napi(env, "napi_create_typedarray");
		return false;
	}
	memcpy(mem, r->ends, (r->nrec + 1) * sizeof(uint32_t));
	r->total += r->nrec;
	return true;
}

static void report_exception(napi_env env)
{
	napi_value e;

	if (napi_get_and_clear_last_exception(env, &e) == napi_ok)
		napi_fatal_exception(env, e);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct bg_ring *r = h->data;
	napi_env env = r->env;
	napi_handle_scope scope;
	napi_value argv[3], cb, recv, result;
	int err = 0;

	if (r->closed)
		return;
	if (napi_open_handle_scope(env, &scope) != napi_ok)
		return;
	bg_log_reset();
	if (status < 0)
		err = status; /* a uv error is a negative errno on Linux */
	else
		err = take_batch(r);
	if (!err && r->nrec == 0)
		goto out; /* woken without data */
	if (napi_get_reference_value(env, r->cb, &cb) != napi_ok || napi_get_global(env, &recv) != napi_ok)
		goto out;
	if (err) {
		argv[0] = bg_make_error(env, "ring_buffer_consume", err, NULL);
		argv[1] = bg_null(env);
		argv[2] = bg_null(env);
		if (status < 0)
			uv_poll_stop(&r->poll); /* the fd is unusable; close() still has to be called */
	} else {
		argv[0] = bg_null(env);
		if (!batch_values(env, r, &argv[1], &argv[2])) {
			report_exception(env);
			goto out;
		}
	}
	if (!argv[0]) {
		report_exception(env);
		goto out;
	}
	/* Runs microtasks afterwards, as any I/O callback does. close() may run inside. */
	r->in_callback = true;
	if (napi_make_callback(env, r->actx, recv, cb, 3, argv, &result) != napi_ok)
		report_exception(env);
	r->in_callback = false;
	if (r->closed && r->actx) {
		napi_async_destroy(env, r->actx);
		r->actx = NULL;
	}
out:
	napi_close_handle_scope(env, scope);
}

/* ringOpen(mapFd, callback, maxBatch): handle */
static napi_value ring_open(napi_env env, napi_callback_info info)
{
	struct bg_ring *r;
	struct uv_loop_s *loop;
	napi_valuetype t;
	napi_value h, name;
	int32_t fd;
	uint32_t max_batch;
	int err;
	BG_ENTER(3);

	if (!bg_arg_i32(env, argv[0], &fd) || !bg_arg_u32(env, argv[2], &max_batch))
		return NULL;
	NAPI_OK(napi_typeof(env, argv[1], &t));
	if (t != napi_function) {
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a function");
		return NULL;
	}
	if (max_batch == 0 || max_batch > 1 << 20)
		return bg_throw(env, "ring_open", EINVAL, "maxBatch out of range");
	NAPI_OK(napi_get_uv_event_loop(env, &loop));
	r = calloc(1, sizeof(*r));
	if (!r)
		return bg_throw(env, "ring_open", ENOMEM, NULL);
	r->env = env;
	r->max_batch = max_batch;
	r->map_fd = dup(fd);
	r->ends = calloc((size_t)max_batch + 1, sizeof(uint32_t));
	if (r->map_fd < 0 || !r->ends) {
		err = r->map_fd < 0 ? errno : ENOMEM;
		ring_free(r);
		return bg_throw(env, "ring_open", err, NULL);
	}
	r->rb = ring_buffer__new(r->map_fd, on_sample, r, NULL);
	if (!r->rb) {
		err = errno;
		ring_free(r);
		return bg_throw(env, "ring_buffer_new", err, NULL);
	}
	err = uv_poll_init(loop, &r->poll, ring_buffer__epoll_fd(r->rb));
	if (err) {
		ring_free(r);
		return bg_throw(env, "uv_poll_init", err, NULL);
	}
	r->poll.data = r;
	r->polling = true;
	h = bg_wrap(env, BG_H_RINGBUF, r, ring_finalize);
	if (!h) {
		/* The poll handle exists: let libuv close it, then free. */
		r->finalized = true;
		ring_close(env, r, true);
		return NULL;
	}
	/* From here the handle owns r: failures go through ring_close. */
	if (napi_create_reference(env, argv[1], 1, &r->cb) != napi_ok ||
	    napi_create_reference(env, h, 1, &r->self) != napi_ok ||
	    napi_create_string_utf8(env, "bpfgate:ringbuf", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_async_init(env, h, name, &r->actx) != napi_ok) {
		ring_close(env, r, false);
		bg_throw_napi(env, "ring_open");
		return NULL;
	}
	err = uv_poll_start(&r->poll, UV_READABLE, on_readable);
	if (err) {
		ring_close(env, r, false);
		return bg_throw(env, "uv_poll_start", err, NULL);
	}
	return h;
}

/* ringClose(h): stop at once; safe inside the callback and more than once */
static napi_value ring_close_js(napi_env env, napi_callback_info info)
{
	struct bg_ring *r;
	BG_ENTER(1);

	r = bg_unwrap(env, argv[0], BG_H_RINGBUF);
	if (!r)
		return NULL;
	ring_close(env, r, false);
	return bg_undefined(env);
}

/* ringConsume(h): take one batch now, synchronously: { data, ends } (ends[0] = 0) */
static napi_value ring_consume(napi_env env, napi_callback_info info)
{
	struct bg_ring *r;
	napi_value o, data, ends;
	int err;
	BG_ENTER(1);

	r = bg_unwrap(env, argv[0], BG_H_RINGBUF);
	if (!r)
		return NULL;
	if (r->closed || !r->rb)
		return bg_throw(env, "ring_consume", EBADF, "ring buffer is closed");
	err = take_batch(r);
	if (err)
		return bg_throw(env, "ring_buffer_consume", err, NULL);
	if (!batch_values(env, r, &data, &ends))
		return NULL;
	NAPI_OK(napi_create_object(env, &o));
	bg_set(env, o, "data", data);
	bg_set(env, o, "ends", ends);
	return o;
}

/* ringRef(h, on): whether an open reader keeps the event loop alive (default true) */
static napi_value ring_ref(napi_env env, napi_callback_info info)
{
	struct bg_ring *r;
	bool on;
	BG_ENTER(2);

	r = bg_unwrap(env, argv[0], BG_H_RINGBUF);
	if (!r || !bg_arg_bool(env, argv[1], &on))
		return NULL;
	if (r->polling && !r->closed) {
		if (on)
			uv_ref((uv_handle_t *)&r->poll);
		else
			uv_unref((uv_handle_t *)&r->poll);
	}
	return bg_undefined(env);
}

/* ringStats(h): { delivered } records handed to JavaScript since open */
static napi_value ring_stats(napi_env env, napi_callback_info info)
{
	struct bg_ring *r;
	napi_value o, n;
	BG_ENTER(1);

	r = bg_unwrap(env, argv[0], BG_H_RINGBUF);
	if (!r)
		return NULL;
	NAPI_OK(napi_create_object(env, &o));
	NAPI_OK(napi_create_double(env, (double)r->total, &n));
	bg_set(env, o, "delivered", n);
	return o;
}

const struct bg_export bg_ringbuf_exports[] = {
	{ "ringOpen", ring_open },
	{ "ringClose", ring_close_js },
	{ "ringConsume", ring_consume },
	{ "ringRef", ring_ref },
	{ "ringStats", ring_stats },
};
const size_t bg_ringbuf_exports_n = sizeof(bg_ringbuf_exports) / sizeof(bg_ringbuf_exports[0]);
