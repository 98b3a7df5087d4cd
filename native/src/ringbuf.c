/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A BPF ring buffer read on the libuv loop. The ring's epoll fd is watched
 * with uv_poll; when it is readable the records are copied out (the ring's
 * memory is reused) into one staging area and handed to JavaScript as one
 * Buffer plus record end offsets: one callback per wake-up. At most
 * `maxBatch` records are taken per wake-up; the rest stay in the ring, whose
 * fd stays readable, so the loop comes back to them after other work.
 *
 * Nothing read is dropped silently. A record that cannot be staged (the
 * staging area cannot grow) is lost alone: it is counted, the batch ends
 * there and keeps the records read before it; a batch that cannot be handed
 * to JavaScript is counted whole. ringStats() reports both counts. A poll
 * error stops the uv_poll watcher (libuv already stopped it); the callback is
 * told so and ringResume() starts it again.
 *
 * Fault injection (ringFault) is for tests only: it is exported so that a
 * test can force each failure above against the real kernel ring buffer.
 * Nothing in bpfgate calls it, and no setting, environment variable, policy
 * or network message reaches it. Faults are process-wide; "alloc" and "copy"
 * fire once, "poll" on every wake-up until cleared.
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
	bool stopped;          /* a poll error stopped the watcher; ringResume() restarts it */
	uint32_t max_batch;
	uint32_t nrec;
	size_t nbytes, cap;
	uint8_t *staging;
	uint32_t *ends;        /* max_batch + 1 entries */
	uint64_t total;        /* records delivered since open */
	uint64_t lost;         /* records read from the ring but never delivered */
};

/* Test-only faults (see the top of this file). */
static struct {
	uint32_t alloc_at;     /* the n-th record of the next batch that has n cannot be staged (1-based; 0: off) */
	bool copy;             /* the next batch cannot be handed to JavaScript */
	int poll_errno;        /* every wake-up reports this poll error until cleared (0: off) */
} fault;

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
	bool fail = fault.alloc_at != 0 && fault.alloc_at == r->nrec + 1;

	if (fail)
		fault.alloc_at = 0;
	if (fail || r->nbytes + size > r->cap) {
		size_t cap = r->cap ? r->cap : 65536;
		uint8_t *more;

		while (cap < r->nbytes + size)
			cap *= 2;
		more = fail ? NULL : realloc(r->staging, cap);
		if (!more) {
			/*
			 * libbpf has consumed this record already: it is lost and
			 * counted. End the batch here so the records staged so far
			 * are delivered; the rest wait in the ring for the next wake-up.
			 */
			r->lost++;
			r->stop = true;
			return -EAGAIN;
		}
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

	if (fault.copy) {
		fault.copy = false;
		bg_throw(env, "ring_batch_copy", ENOMEM, "injected fault");
		return false;
	}
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

/* The callback's arguments for a batch that could not be handed over: counted lost, the error passed on. */
static napi_value batch_lost(napi_env env, struct bg_ring *r)
{
	napi_value e = NULL;

	r->lost += r->nrec;
	if (napi_get_and_clear_last_exception(env, &e) != napi_ok || !e)
		e = bg_make_error(env, "ring_batch_copy", ENOMEM, NULL);
	return e;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct bg_ring *r = h->data;
	napi_env env = r->env;
	napi_handle_scope scope;
	napi_value argv[4], cb, recv, result;
	int err = 0;

	if (r->closed)
		return;
	if (napi_open_handle_scope(env, &scope) != napi_ok)
		return;
	bg_log_reset();
	if (fault.poll_errno)
		status = -fault.poll_errno;
	if (status < 0) {
		err = status; /* a uv error is a negative errno on Linux */
		/* the fd reported an error: stop watching it until ringResume() (libuv may have stopped already) */
		uv_poll_stop(&r->poll);
		r->stopped = true;
	} else {
		err = take_batch(r);
	}
	if (!err && r->nrec == 0)
		goto out; /* woken without data, or the only record was lost (counted) */
	if (napi_get_reference_value(env, r->cb, &cb) != napi_ok || napi_get_global(env, &recv) != napi_ok)
		goto out;
	argv[0] = bg_null(env);
	argv[1] = bg_null(env);
	argv[2] = bg_null(env);
	argv[3] = bg_bool(env, r->stopped);
	if (err)
		argv[0] = bg_make_error(env, status < 0 ? "ring_buffer_poll" : "ring_buffer_consume", err, NULL);
	else if (!batch_values(env, r, &argv[1], &argv[2]))
		argv[0] = batch_lost(env, r);
	if (!argv[0]) {
		report_exception(env);
		goto out;
	}
	/* Runs microtasks afterwards, as any I/O callback does. close() may run inside. */
	r->in_callback = true;
	if (napi_make_callback(env, r->actx, recv, cb, 4, argv, &result) != napi_ok)
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

/* The handle's ring when it is still open; NULL with an exception pending otherwise. */
static struct bg_ring *open_ring(napi_env env, napi_value h, const char *op)
{
	struct bg_ring *r = bg_unwrap(env, h, BG_H_RINGBUF);

	if (r && (r->closed || !r->rb)) {
		bg_throw(env, op, EBADF, "ring buffer is closed");
		return NULL;
	}
	return r;
}

/* ringConsume(h): take one batch now, synchronously: { data, ends } (ends[0] = 0) */
static napi_value ring_consume(napi_env env, napi_callback_info info)
{
	struct bg_ring *r;
	napi_value o, data, ends;
	int err;
	BG_ENTER(1);

	r = open_ring(env, argv[0], "ring_consume");
	if (!r)
		return NULL;
	err = take_batch(r);
	if (err)
		return bg_throw(env, "ring_buffer_consume", err, NULL);
	if (!batch_values(env, r, &data, &ends)) {
		r->lost += r->nrec;
		return NULL;
	}
	NAPI_OK(napi_create_object(env, &o));
	bg_set(env, o, "data", data);
	bg_set(env, o, "ends", ends);
	return o;
}

/*
 * ringPoke(h): do now what a wake-up does (the same batch, callback, faults
 * and counts). The reader's drain timer calls it: bpfgate's programs write
 * most records without waking the reader (bpf/lib/event.h). Nothing while
 * reading is stopped by a poll error (ringResume restarts it) or from inside
 * the callback.
 */
static napi_value ring_poke(napi_env env, napi_callback_info info)
{
	struct bg_ring *r;
	BG_ENTER(1);

	r = open_ring(env, argv[0], "ring_poke");
	if (!r)
		return NULL;
	if (!r->stopped && !r->in_callback)
		on_readable(&r->poll, 0, UV_READABLE);
	return bg_undefined(env);
}

/* ringResume(h): watch the fd again after a poll error stopped it; nothing if it was not stopped */
static napi_value ring_resume(napi_env env, napi_callback_info info)
{
	struct bg_ring *r;
	int err;
	BG_ENTER(1);

	r = open_ring(env, argv[0], "ring_resume");
	if (!r)
		return NULL;
	if (!r->stopped)
		return bg_undefined(env);
	err = uv_poll_start(&r->poll, UV_READABLE, on_readable);
	if (err)
		return bg_throw(env, "uv_poll_start", err, NULL);
	r->stopped = false;
	return bg_undefined(env);
}

/*
 * ringFault(kind, n): tests only (see the top of this file). "alloc": the n-th
 * record of the next batch that has n records cannot be staged (once);
 * "copy": the next batch cannot be handed over (once); "poll": every wake-up
 * reports poll error n (an errno) until "clear", which turns all off.
 */
static napi_value ring_fault(napi_env env, napi_callback_info info)
{
	char kind[16];
	uint32_t n;
	BG_ENTER(2);

	if (!bg_arg_string(env, argv[0], kind, sizeof(kind)) || !bg_arg_u32(env, argv[1], &n))
		return NULL;
	if (strcmp(kind, "alloc") == 0 && n > 0)
		fault.alloc_at = n;
	else if (strcmp(kind, "copy") == 0)
		fault.copy = true;
	else if (strcmp(kind, "poll") == 0 && n > 0 && n < 4096)
		fault.poll_errno = (int)n;
	else if (strcmp(kind, "clear") == 0)
		memset(&fault, 0, sizeof(fault));
	else
		return bg_throw(env, "ring_fault", EINVAL, "expected alloc n, copy, poll errno or clear");
	return bg_undefined(env);
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

/* ringStats(h): { delivered, lost } records handed to JavaScript, and read but lost, since open; stopped */
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
	NAPI_OK(napi_create_double(env, (double)r->lost, &n));
	bg_set(env, o, "lost", n);
	bg_set(env, o, "stopped", bg_bool(env, r->stopped));
	return o;
}

const struct bg_export bg_ringbuf_exports[] = {
	{ "ringOpen", ring_open },
	{ "ringClose", ring_close_js },
	{ "ringPoke", ring_poke },
	{ "ringConsume", ring_consume },
	{ "ringRef", ring_ref },
	{ "ringStats", ring_stats },
	{ "ringResume", ring_resume },
	{ "ringFault", ring_fault },
};
const size_t bg_ringbuf_exports_n = sizeof(bg_ringbuf_exports) / sizeof(bg_ringbuf_exports[0]);
