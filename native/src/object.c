/* SPDX-License-Identifier: Apache-2.0 */
/*
 * BPF objects: open a .bpf.o, adjust it before load (autoload per program,
 * initial values of global data, pin paths, adopted map fds), load, list
 * programs and maps, close.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define PATH_CAP 4096
#define NAME_CAP 256

static void object_finalize(napi_env env, void *data, void *hint)
{
	struct bg_object *o = data;

	bpf_object__close(o->obj); /* NULL-safe */
	free(o);
}

struct bpf_object *bg_get_object(napi_env env, napi_value handle)
{
	struct bg_object *o = bg_unwrap(env, handle, BG_H_OBJECT);

	if (!o)
		return NULL;
	if (!o->obj) {
		bg_throw(env, "object", EBADF, "object is closed");
		return NULL;
	}
	return o->obj;
}

struct bpf_program *bg_find_program(napi_env env, napi_value handle, napi_value name)
{
	char n[NAME_CAP];
	struct bpf_object *obj = bg_get_object(env, handle);
	struct bpf_program *p;

	if (!obj || !bg_arg_string(env, name, n, sizeof(n)))
		return NULL;
	p = bpf_object__find_program_by_name(obj, n);
	if (!p)
		bg_throw(env, "find_program", ENOENT, n);
	return p;
}

struct bpf_map *bg_find_map(napi_env env, napi_value handle, napi_value name)
{
	char n[NAME_CAP];
	struct bpf_object *obj = bg_get_object(env, handle);
	struct bpf_map *m;

	if (!obj || !bg_arg_string(env, name, n, sizeof(n)))
		return NULL;
	m = bpf_object__find_map_by_name(obj, n);
	if (!m)
		bg_throw(env, "find_map", ENOENT, n);
	return m;
}

/* objectOpen(path: string, pinRoot: string | null): handle */
static napi_value object_open(napi_env env, napi_callback_info info)
{
	char path[PATH_CAP], pin_root[PATH_CAP];
	bool has_root;
	struct bg_object *o;
	struct bpf_object *obj;
	napi_value h;
	BG_ENTER(2);

	if (!bg_arg_string(env, argv[0], path, sizeof(path)) ||
	    !bg_arg_opt_string(env, argv[1], pin_root, sizeof(pin_root), &has_root))
		return NULL;
	{
		LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = has_root ? pin_root : NULL);

		obj = bpf_object__open_file(path, &opts);
	}
	if (!obj)
		return bg_throw(env, "open", errno, path);
	o = calloc(1, sizeof(*o));
	if (!o) {
		bpf_object__close(obj);
		return bg_throw(env, "open", ENOMEM, path);
	}
	o->obj = obj;
	h = bg_wrap(env, BG_H_OBJECT, o, object_finalize);
	if (!h) {
		bpf_object__close(obj);
		free(o);
	}
	return h;
}

/* objectClose(h): closes the object (programs not attached by a link go away) */
static napi_value object_close(napi_env env, napi_callback_info info)
{
	struct bg_object *o;
	BG_ENTER(1);

	o = bg_unwrap(env, argv[0], BG_H_OBJECT);
	if (!o)
		return NULL;
	bpf_object__close(o->obj);
	o->obj = NULL;
	return bg_undefined(env);
}

/* objectLoad(h) */
static napi_value object_load(napi_env env, napi_callback_info info)
{
	struct bpf_object *obj;
	int err;
	BG_ENTER(1);

	obj = bg_get_object(env, argv[0]);
	if (!obj)
		return NULL;
	err = bpf_object__load(obj);
	if (err)
		return bg_throw(env, "load", err, bpf_object__name(obj));
	return bg_undefined(env);
}

static napi_value type_name(napi_env env, const char *s)
{
	return s ? bg_str(env, s) : bg_null(env);
}

/* objectPrograms(h): [{ name, section, type, typeName, attachType, attachTypeName, autoload, fd }] */
static napi_value object_programs(napi_env env, napi_callback_info info)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	napi_value arr;
	uint32_t i = 0;
	BG_ENTER(1);

	obj = bg_get_object(env, argv[0]);
	if (!obj)
		return NULL;
	NAPI_OK(napi_create_array(env, &arr));
	bpf_object__for_each_program(p, obj) {
		napi_value e;
		enum bpf_prog_type t = bpf_program__type(p);
		enum bpf_attach_type at = bpf_program__expected_attach_type(p);
		int fd = bpf_program__fd(p);

		NAPI_OK(napi_create_object(env, &e));
		bg_set(env, e, "name", bg_str(env, bpf_program__name(p)));
		bg_set(env, e, "section", bg_str(env, bpf_program__section_name(p)));
		bg_set(env, e, "type", bg_u32(env, t));
		bg_set(env, e, "typeName", type_name(env, libbpf_bpf_prog_type_str(t)));
		bg_set(env, e, "attachType", bg_u32(env, at));
		bg_set(env, e, "attachTypeName", type_name(env, libbpf_bpf_attach_type_str(at)));
		bg_set(env, e, "autoload", bg_bool(env, bpf_program__autoload(p)));
		bg_set(env, e, "fd", bg_i32(env, fd < 0 ? -1 : fd));
		NAPI_OK(napi_set_element(env, arr, i++, e));
	}
	return arr;
}

/* objectMaps(h): [{ name, type, typeName, keySize, valueSize, maxEntries, flags, internal, fd, pinPath }] */
static napi_value object_maps(napi_env env, napi_callback_info info)
{
	struct bpf_object *obj;
	struct bpf_map *m;
	napi_value arr;
	uint32_t i = 0;
	BG_ENTER(1);

	obj = bg_get_object(env, argv[0]);
	if (!obj)
		return NULL;
	NAPI_OK(napi_create_array(env, &arr));
	bpf_object__for_each_map(m, obj) {
		napi_value e;
		enum bpf_map_type t = bpf_map__type(m);
		const char *pin = bpf_map__pin_path(m);
		int fd = bpf_map__fd(m);

		NAPI_OK(napi_create_object(env, &e));
		bg_set(env, e, "name", bg_str(env, bpf_map__name(m)));
		bg_set(env, e, "type", bg_u32(env, t));
		bg_set(env, e, "typeName", type_name(env, libbpf_bpf_map_type_str(t)));
		bg_set(env, e, "keySize", bg_u32(env, bpf_map__key_size(m)));
		bg_set(env, e, "valueSize", bg_u32(env, bpf_map__value_size(m)));
		bg_set(env, e, "maxEntries", bg_u32(env, bpf_map__max_entries(m)));
		bg_set(env, e, "flags", bg_u32(env, bpf_map__map_flags(m)));
		bg_set(env, e, "internal", bg_bool(env, bpf_map__is_internal(m)));
		bg_set(env, e, "fd", bg_i32(env, fd < 0 ? -1 : fd));
		bg_set(env, e, "pinPath", pin ? bg_str(env, pin) : bg_null(env));
		NAPI_OK(napi_set_element(env, arr, i++, e));
	}
	return arr;
}

/* programSetAutoload(h, name, on) */
static napi_value program_set_autoload(napi_env env, napi_callback_info info)
{
	struct bpf_program *p;
	bool on;
	int err;
	BG_ENTER(3);

	p = bg_find_program(env, argv[0], argv[1]);
	if (!p || !bg_arg_bool(env, argv[2], &on))
		return NULL;
	err = bpf_program__set_autoload(p, on);
	if (err)
		return bg_throw(env, "set_autoload", err, bpf_program__name(p));
	return bg_undefined(env);
}

/* programFd(h, name): the loaded program's fd (owned by the object) */
static napi_value program_fd(napi_env env, napi_callback_info info)
{
	struct bpf_program *p;
	int fd;
	BG_ENTER(2);

	p = bg_find_program(env, argv[0], argv[1]);
	if (!p)
		return NULL;
	fd = bpf_program__fd(p);
	if (fd < 0)
		return bg_throw(env, "program_fd", fd == -1 ? EINVAL : fd, bpf_program__name(p));
	return bg_i32(env, fd);
}

/* mapFd(h, name): the created map's fd (owned by the object) */
static napi_value map_fd(napi_env env, napi_callback_info info)
{
	struct bpf_map *m;
	int fd;
	BG_ENTER(2);

	m = bg_find_map(env, argv[0], argv[1]);
	if (!m)
		return NULL;
	fd = bpf_map__fd(m);
	if (fd < 0)
		return bg_throw(env, "map_fd", fd == -1 ? EINVAL : fd, bpf_map__name(m));
	return bg_i32(env, fd);
}

/* mapSetInitialValue(h, name, bytes): the whole initial content of a global-data map */
static napi_value map_set_initial_value(napi_env env, napi_callback_info info)
{
	struct bpf_map *m;
	void *data;
	size_t len;
	int err;
	BG_ENTER(3);

	m = bg_find_map(env, argv[0], argv[1]);
	if (!m || !bg_arg_bytes(env, argv[2], &data, &len, false))
		return NULL;
	err = bpf_map__set_initial_value(m, data, len);
	if (err)
		return bg_throw(env, "set_initial_value", err, bpf_map__name(m));
	return bg_undefined(env);
}

/*
 * setGlobal(h, section, variable, bytes): write one global variable of a
 * data section (".rodata", ".data", ".bss") before load, found by name in the
 * object's BTF. The byte length must equal the variable's size.
 */
static napi_value set_global(napi_env env, napi_callback_info info)
{
	char sec_name[NAME_CAP], var_name[NAME_CAP];
	struct bpf_object *obj;
	struct bpf_map *m;
	struct btf *btf;
	const struct btf_type *sec;
	const struct btf_var_secinfo *vs;
	void *data;
	size_t len, map_size = 0;
	uint8_t *mem;
	int id;
	BG_ENTER(4);

	obj = bg_get_object(env, argv[0]);
	if (!obj || !bg_arg_string(env, argv[1], sec_name, sizeof(sec_name)) ||
	    !bg_arg_string(env, argv[2], var_name, sizeof(var_name)) ||
	    !bg_arg_bytes(env, argv[3], &data, &len, false))
		return NULL;
	m = bpf_object__find_map_by_name(obj, sec_name);
	if (!m || !bpf_map__is_internal(m))
		return bg_throw(env, "find_map", ENOENT, sec_name);
	btf = bpf_object__btf(obj);
	if (!btf)
		return bg_throw(env, "set_global", ENOENT, "object has no BTF");
	id = btf__find_by_name_kind(btf, sec_name, BTF_KIND_DATASEC);
	if (id < 0)
		return bg_throw(env, "set_global", ENOENT, sec_name);
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);
		const char *n = var ? btf__name_by_offset(btf, var->name_off) : NULL;

		if (!n || strcmp(n, var_name) != 0)
			continue;
		if (vs->size != len)
			return bg_throw(env, "set_global", EINVAL, "value size differs from the variable's size");
		/* The section's initial image; writable until load. */
		mem = (uint8_t *)bpf_map__initial_value(m, &map_size);
		if (!mem || bpf_map__fd(m) >= 0)
			return bg_throw(env, "set_global", EBUSY, "object already loaded");
		if ((size_t)vs->offset + len > map_size)
			return bg_throw(env, "set_global", EINVAL, "variable outside its section");
		memcpy(mem + vs->offset, data, len);
		return bg_undefined(env);
	}
	return bg_throw(env, "set_global", ENOENT, var_name);
}

/* mapSetPinPath(h, name, path | null): before load: adopt the pinned map at path, or create and pin it there */
static napi_value map_set_pin_path(napi_env env, napi_callback_info info)
{
	char path[PATH_CAP];
	bool has;
	struct bpf_map *m;
	int err;
	BG_ENTER(3);

	m = bg_find_map(env, argv[0], argv[1]);
	if (!m || !bg_arg_opt_string(env, argv[2], path, sizeof(path), &has))
		return NULL;
	err = bpf_map__set_pin_path(m, has ? path : NULL);
	if (err)
		return bg_throw(env, "set_pin_path", err, bpf_map__name(m));
	return bg_undefined(env);
}

/* mapReuseFd(h, name, fd): before load: use an existing map (e.g. from a pin) instead of creating one */
static napi_value map_reuse_fd(napi_env env, napi_callback_info info)
{
	struct bpf_map *m;
	int32_t fd;
	int err;
	BG_ENTER(3);

	m = bg_find_map(env, argv[0], argv[1]);
	if (!m || !bg_arg_i32(env, argv[2], &fd))
		return NULL;
	/* libbpf dups fd; the caller keeps its own. */
	err = bpf_map__reuse_fd(m, fd);
	if (err)
		return bg_throw(env, "reuse_fd", err, bpf_map__name(m));
	return bg_undefined(env);
}

/* mapSetMaxEntries(h, name, n): before load */
static napi_value map_set_max_entries(napi_env env, napi_callback_info info)
{
	struct bpf_map *m;
	uint32_t n;
	int err;
	BG_ENTER(3);

	m = bg_find_map(env, argv[0], argv[1]);
	if (!m || !bg_arg_u32(env, argv[2], &n))
		return NULL;
	err = bpf_map__set_max_entries(m, n);
	if (err)
		return bg_throw(env, "set_max_entries", err, bpf_map__name(m));
	return bg_undefined(env);
}

const struct bg_export bg_object_exports[] = {
	{ "objectOpen", object_open },
	{ "objectClose", object_close },
	{ "objectLoad", object_load },
	{ "objectPrograms", object_programs },
	{ "objectMaps", object_maps },
	{ "programSetAutoload", program_set_autoload },
	{ "programFd", program_fd },
	{ "mapFd", map_fd },
	{ "mapSetInitialValue", map_set_initial_value },
	{ "setGlobal", set_global },
	{ "mapSetPinPath", map_set_pin_path },
	{ "mapReuseFd", map_reuse_fd },
	{ "mapSetMaxEntries", map_set_max_entries },
};
const size_t bg_object_exports_n = sizeof(bg_object_exports) / sizeof(bg_object_exports[0]);
