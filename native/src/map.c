/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Map elements by fd: info, lookup, update, delete, next key, all keys, and
 * batched update/delete/lookup with a per-element fallback for map types whose
 * kernel side has no batch operations (LPM tries, for one).
 *
 * Sizes are the caller's: for per-CPU maps the value size passed here is
 * round_up(value_size, 8) * possible CPUs (the adapter computes it).
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's internal "operation not supported" */
#endif

static bool no_batch(int err)
{
	err = err < 0 ? -err : err;
	return err == ENOTSUPP || err == EOPNOTSUPP;
}

/* mapInfo(fd): { id, type, typeName, keySize, valueSize, maxEntries, flags, name } */
static napi_value map_info(napi_env env, napi_callback_info info)
{
	struct bpf_map_info mi;
	uint32_t len = sizeof(mi);
	int32_t fd;
	napi_value o;
	int err;
	BG_ENTER(1);

	if (!bg_arg_i32(env, argv[0], &fd))
		return NULL;
	memset(&mi, 0, sizeof(mi));
	err = bpf_obj_get_info_by_fd(fd, &mi, &len);
	if (err)
		return bg_throw(env, "map_info", err, NULL);
	NAPI_OK(napi_create_object(env, &o));
	bg_set(env, o, "id", bg_u32(env, mi.id));
	bg_set(env, o, "type", bg_u32(env, mi.type));
	{
		const char *tn = libbpf_bpf_map_type_str(mi.type);

		bg_set(env, o, "typeName", tn ? bg_str(env, tn) : bg_null(env));
	}
	bg_set(env, o, "keySize", bg_u32(env, mi.key_size));
	bg_set(env, o, "valueSize", bg_u32(env, mi.value_size));
	bg_set(env, o, "maxEntries", bg_u32(env, mi.max_entries));
	bg_set(env, o, "flags", bg_u32(env, mi.map_flags));
	bg_set(env, o, "name", bg_str(env, mi.name));
	return o;
}

/* mapUpdate(fd, key, value, flags) */
static napi_value map_update(napi_env env, napi_callback_info info)
{
	int32_t fd;
	uint32_t flags;
	void *k, *v;
	size_t kl, vl;
	int err;
	BG_ENTER(4);

	if (!bg_arg_i32(env, argv[0], &fd) || !bg_arg_bytes(env, argv[1], &k, &kl, false) ||
	    !bg_arg_bytes(env, argv[2], &v, &vl, false) || !bg_arg_u32(env, argv[3], &flags))
		return NULL;
	err = bpf_map_update_elem(fd, kl ? k : NULL, v, flags);
	if (err)
		return bg_throw(env, "map_update", err, NULL);
	return bg_undefined(env);
}

/* mapLookup(fd, key, valueSize): Buffer, or null when the key is absent */
static napi_value map_lookup(napi_env env, napi_callback_info info)
{
	int32_t fd;
	uint32_t vsize;
	void *k, *v;
	size_t kl;
	napi_value buf;
	int err;
	BG_ENTER(3);

	if (!bg_arg_i32(env, argv[0], &fd) || !bg_arg_bytes(env, argv[1], &k, &kl, false) ||
	    !bg_arg_u32(env, argv[2], &vsize))
		return NULL;
	/* The kernel writes straight into the new Buffer. */
	NAPI_OK(napi_create_buffer(env, vsize, &v, &buf));
	err = bpf_map_lookup_elem(fd, kl ? k : NULL, v);
	if (err == -ENOENT)
		return bg_null(env);
	if (err)
		return bg_throw(env, "map_lookup", err, NULL);
	return buf;
}

/* mapDelete(fd, key): true if deleted, false if absent */
static napi_value map_delete(napi_env env, napi_callback_info info)
{
	int32_t fd;
	void *k;
	size_t kl;
	int err;
	BG_ENTER(2);

	if (!bg_arg_i32(env, argv[0], &fd) || !bg_arg_bytes(env, argv[1], &k, &kl, false))
		return NULL;
	err = bpf_map_delete_elem(fd, k);
	if (err == -ENOENT)
		return bg_bool(env, false);
	if (err)
		return bg_throw(env, "map_delete", err, NULL);
	return bg_bool(env, true);
}

/* mapNextKey(fd, key | null, keySize): the key after key (the first with null), or null at the end */
static napi_value map_next_key(napi_env env, napi_callback_info info)
{
	int32_t fd;
	uint32_t ksize;
	void *k, *next;
	size_t kl;
	napi_value buf;
	int err;
	BG_ENTER(3);

	if (!bg_arg_i32(env, argv[0], &fd) || !bg_arg_bytes(env, argv[1], &k, &kl, true) ||
	    !bg_arg_u32(env, argv[2], &ksize))
		return NULL;
	NAPI_OK(napi_create_buffer(env, ksize, &next, &buf));
	err = bpf_map_get_next_key(fd, k, next);
	if (err == -ENOENT)
		return bg_null(env);
	if (err)
		return bg_throw(env, "map_next_key", err, NULL);
	return buf;
}

/* Collect every key into a malloc'd array (for iteration and the lookup fallback). */
static int all_keys(int fd, uint32_t ksize, uint32_t max, uint8_t **out, uint32_t *count)
{
	uint32_t cap = max ? max : 64, n = 0;
	uint8_t *keys = malloc((size_t)cap * ksize);
	int err;

	if (!keys)
		return -ENOMEM;
	err = bpf_map_get_next_key(fd, NULL, keys);
	while (!err) {
		n++;
		if (n == cap) {
			uint8_t *more = realloc(keys, (size_t)cap * 2 * ksize);

			if (!more) {
				free(keys);
				return -ENOMEM;
			}
			keys = more;
			cap *= 2;
		}
		err = bpf_map_get_next_key(fd, keys + (size_t)(n - 1) * ksize, keys + (size_t)n * ksize);
	}
	if (err != -ENOENT) {
		free(keys);
		return err;
	}
	*out = keys;
	*count = n;
	return 0;
}

/* mapKeys(fd, keySize, maxEntries): every key, concatenated in one Buffer */
static napi_value map_keys(napi_env env, napi_callback_info info)
{
	int32_t fd;
	uint32_t ksize, max, n = 0;
	uint8_t *keys = NULL;
	napi_value buf;
	int err;
	BG_ENTER(3);

	if (!bg_arg_i32(env, argv[0], &fd) || !bg_arg_u32(env, argv[1], &ksize) ||
	    !bg_arg_u32(env, argv[2], &max))
		return NULL;
	if (!ksize)
		return bg_throw(env, "map_keys", EINVAL, "key size 0");
	err = all_keys(fd, ksize, max, &keys, &n);
	if (err)
		return bg_throw(env, "map_keys", err, NULL);
	buf = bg_buffer_copy(env, keys, (size_t)n * ksize);
	free(keys);
	return buf;
}

/* The result of a batch call: { count, batched } */
static napi_value batch_result(napi_env env, uint32_t count, bool batched)
{
	napi_value o;

	NAPI_OK(napi_create_object(env, &o));
	bg_set(env, o, "count", bg_u32(env, count));
	bg_set(env, o, "batched", bg_bool(env, batched));
	return o;
}

static napi_value batch_error(napi_env env, const char *op, int err, uint32_t done)
{
	char detail[64];

	snprintf(detail, sizeof(detail), "after %u element(s)", done);
	return bg_throw(env, op, err, detail);
}

/* mapUpdateBatch(fd, keys, values, count, flags): { count, batched }; per element where the map has no batch update */
static napi_value map_update_batch(napi_env env, napi_callback_info info)
{
	int32_t fd;
	uint32_t count, flags, n;
	void *k, *v;
	size_t kl, vl, ks, vs;
	int err;
	BG_ENTER(5);

	if (!bg_arg_i32(env, argv[0], &fd) || !bg_arg_bytes(env, argv[1], &k, &kl, false) ||
	    !bg_arg_bytes(env, argv[2], &v, &vl, false) || !bg_arg_u32(env, argv[3], &count) ||
	    !bg_arg_u32(env, argv[4], &flags))
		return NULL;
	if (!count)
		return batch_result(env, 0, false);
	if (kl % count || vl % count)
		return bg_throw(env, "map_update_batch", EINVAL, "buffer sizes are not count multiples");
	ks = kl / count;
	vs = vl / count;
	/* The kernel's batch update takes only BPF_F_LOCK in elem_flags: with
	 * BPF_NOEXIST or BPF_EXIST every element goes alone. */
	if (!(flags & (BPF_NOEXIST | BPF_EXIST))) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags);

		n = count;
		err = bpf_map_update_batch(fd, k, v, &n, &opts);
		if (!err)
			return batch_result(env, n, true);
		if (!no_batch(err))
			return batch_error(env, "map_update_batch", err, n);
	}
	for (n = 0; n < count; n++) {
		err = bpf_map_update_elem(fd, (uint8_t *)k + n * ks, (uint8_t *)v + n * vs, flags);
		if (err)
			return batch_error(env, "map_update", err, n);
	}
	return batch_result(env, count, false);
}

/* mapDeleteBatch(fd, keys, count): { count, batched }; an absent key is an error (ENOENT) */
static napi_value map_delete_batch(napi_env env, napi_callback_info info)
{
	int32_t fd;
	uint32_t count, n;
	void *k;
	size_t kl, ks;
	int err;
	BG_ENTER(3);

	if (!bg_arg_i32(env, argv[0], &fd) || !bg_arg_bytes(env, argv[1], &k, &kl, false) ||
	    !bg_arg_u32(env, argv[2], &count))
		return NULL;
	if (!count)
		return batch_result(env, 0, false);
	if (kl % count)
		return bg_throw(env, "map_delete_batch", EINVAL, "buffer size is not a count multiple");
	ks = kl / count;
	n = count;
	err = bpf_map_delete_batch(fd, k, &n, NULL);
	if (!err)
		return batch_result(env, n, true);
	if (!no_batch(err))
		return batch_error(env, "map_delete_batch", err, n);
	for (n = 0; n < count; n++) {
		err = bpf_map_delete_elem(fd, (uint8_t *)k + n * ks);
		if (err)
			return batch_error(env, "map_delete", err, n);
	}
	return batch_result(env, count, false);
}

static napi_value dump_result(napi_env env, const uint8_t *keys, const uint8_t *vals, uint32_t n,
			      uint32_t ksize, uint32_t vsize, bool batched)
{
	napi_value o, kb, vb;

	kb = bg_buffer_copy(env, keys, (size_t)n * ksize);
	vb = bg_buffer_copy(env, vals, (size_t)n * vsize);
	if (!kb || !vb)
		return NULL;
	NAPI_OK(napi_create_object(env, &o));
	bg_set(env, o, "keys", kb);
	bg_set(env, o, "values", vb);
	bg_set(env, o, "count", bg_u32(env, n));
	bg_set(env, o, "batched", bg_bool(env, batched));
	return o;
}

/* Batched dump; returns 0, a negative errno, or 1 when the map has no batch lookup. */
static int dump_batched(int fd, uint32_t ksize, uint32_t vsize, uint32_t max, uint8_t *keys, uint8_t *vals,
			uint32_t *total)
{
	/* The resume token: a bucket index (u32) for hashes, a key for arrays. */
	size_t tsz = ksize > 8 ? ksize : 8;
	uint8_t *in = calloc(1, tsz), *out = calloc(1, tsz), *tmp;
	uint32_t got = 0, chunk = max < 256 ? max : 256;
	bool first = true;
	int err = 0;

	if (!in || !out) {
		free(in);
		free(out);
		return -ENOMEM;
	}
	while (got < max) {
		uint32_t n = max - got < chunk ? max - got : chunk;

		err = bpf_map_lookup_batch(fd, first ? NULL : in, out, keys + (size_t)got * ksize,
					   vals + (size_t)got * vsize, &n, NULL);
		if (err && err != -ENOENT) {
			if (err == -ENOSPC && chunk < max && n == 0) {
				/* a hash bucket bigger than the chunk: retry with more room */
				chunk = chunk * 2 < max ? chunk * 2 : max;
				continue;
			}
			break;
		}
		got += n;
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		first = false;
		tmp = in;
		in = out;
		out = tmp;
	}
	free(in);
	free(out);
	if (err)
		return no_batch(err) && got == 0 ? 1 : err;
	*total = got;
	return 0;
}

/*
 * mapLookupAll(fd, keySize, valueSize, maxEntries): every element,
 * { keys, values, count, batched }, keys and values concatenated.
 */
static napi_value map_lookup_all(napi_env env, napi_callback_info info)
{
	int32_t fd;
	uint32_t ksize, vsize, max, n = 0, kept = 0;
	uint8_t *keys = NULL, *vals = NULL;
	napi_value r;
	int err;
	BG_ENTER(4);

	if (!bg_arg_i32(env, argv[0], &fd) || !bg_arg_u32(env, argv[1], &ksize) ||
	    !bg_arg_u32(env, argv[2], &vsize) || !bg_arg_u32(env, argv[3], &max))
		return NULL;
	if (!ksize || !vsize)
		return bg_throw(env, "map_lookup_all", EINVAL, "key or value size 0");
	if (max) {
		keys = malloc((size_t)max * ksize);
		vals = malloc((size_t)max * vsize);
		if (!keys || !vals) {
			free(keys);
			free(vals);
			return bg_throw(env, "map_lookup_all", ENOMEM, NULL);
		}
		err = dump_batched(fd, ksize, vsize, max, keys, vals, &n);
		if (err <= 0) {
			r = err ? bg_throw(env, "map_lookup_batch", err, NULL)
				: dump_result(env, keys, vals, n, ksize, vsize, true);
			free(keys);
			free(vals);
			return r;
		}
		free(keys);
		keys = NULL;
	}
	free(vals);
	/* Per element: keys first, then each value (a key deleted meanwhile is skipped). */
	err = all_keys(fd, ksize, max, &keys, &n);
	if (err)
		return bg_throw(env, "map_keys", err, NULL);
	vals = malloc((size_t)(n ? n : 1) * vsize);
	if (!vals) {
		free(keys);
		return bg_throw(env, "map_lookup_all", ENOMEM, NULL);
	}
	for (uint32_t i = 0; i < n; i++) {
		err = bpf_map_lookup_elem(fd, keys + (size_t)i * ksize, vals + (size_t)kept * vsize);
		if (err == -ENOENT)
			continue;
		if (err) {
			free(keys);
			free(vals);
			return bg_throw(env, "map_lookup", err, NULL);
		}
		if (kept != i)
			memmove(keys + (size_t)kept * ksize, keys + (size_t)i * ksize, ksize);
		kept++;
	}
	r = dump_result(env, keys, vals, kept, ksize, vsize, false);
	free(keys);
	free(vals);
	return r;
}

/* numPossibleCpus() */
static napi_value num_possible_cpus(napi_env env, napi_callback_info info)
{
	int n;
	BG_ENTER(0);

	n = libbpf_num_possible_cpus();
	if (n < 0)
		return bg_throw(env, "num_possible_cpus", n, NULL);
	return bg_i32(env, n);
}

const struct bg_export bg_map_exports[] = {
	{ "mapInfo", map_info },
	{ "mapUpdate", map_update },
	{ "mapLookup", map_lookup },
	{ "mapDelete", map_delete },
	{ "mapNextKey", map_next_key },
	{ "mapKeys", map_keys },
	{ "mapUpdateBatch", map_update_batch },
	{ "mapDeleteBatch", map_delete_batch },
	{ "mapLookupAll", map_lookup_all },
	{ "numPossibleCpus", num_possible_cpus },
};
const size_t bg_map_exports_n = sizeof(bg_map_exports) / sizeof(bg_map_exports[0]);
