/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attaching programs (links), and pins in bpffs: pin any fd, open a pinned
 * map/program/link, unpin.
 */
#include "common.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>
#include <net/if.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define PATH_CAP 4096
#define NAME_CAP 256

struct bg_link {
	struct bpf_link *link; /* NULL after destroy */
};

static void link_finalize(napi_env env, void *data, void *hint)
{
	struct bg_link *l = data;

	/* A link nobody references any more detaches, unless it is pinned. */
	bpf_link__destroy(l->link); /* NULL-safe */
	free(l);
}

static napi_value wrap_link(napi_env env, struct bpf_link *link)
{
	struct bg_link *l = calloc(1, sizeof(*l));
	napi_value h;

	if (!l) {
		bpf_link__destroy(link);
		return bg_throw(env, "attach", ENOMEM, NULL);
	}
	l->link = link;
	h = bg_wrap(env, BG_H_LINK, l, link_finalize);
	if (!h) {
		bpf_link__destroy(link);
		free(l);
	}
	return h;
}

static struct bpf_link *get_link(napi_env env, napi_value v)
{
	struct bg_link *l = bg_unwrap(env, v, BG_H_LINK);

	if (!l)
		return NULL;
	if (!l->link) {
		bg_throw(env, "link", EBADF, "link is destroyed");
		return NULL;
	}
	return l->link;
}

/* The result of an attach_* call: a link handle, or a thrown error. */
static napi_value attached(napi_env env, struct bpf_link *link, const char *op, const struct bpf_program *p)
{
	if (!link)
		return bg_throw(env, op, errno ? errno : EINVAL, bpf_program__name(p));
	return wrap_link(env, link);
}

/* attachAuto(h, prog): as the SEC() name says (libbpf's bpf_program__attach) */
static napi_value attach_auto(napi_env env, napi_callback_info info)
{
	struct bpf_program *p;
	BG_ENTER(2);

	p = bg_find_program(env, argv[0], argv[1]);
	if (!p)
		return NULL;
	errno = 0;
	return attached(env, bpf_program__attach(p), "attach", p);
}

/* attachLsm(h, prog) */
static napi_value attach_lsm(napi_env env, napi_callback_info info)
{
	struct bpf_program *p;
	BG_ENTER(2);

	p = bg_find_program(env, argv[0], argv[1]);
	if (!p)
		return NULL;
	errno = 0;
	return attached(env, bpf_program__attach_lsm(p), "attach_lsm", p);
}

/* attachTrace(h, prog): tp_btf, fentry, fexit */
static napi_value attach_trace(napi_env env, napi_callback_info info)
{
	struct bpf_program *p;
	BG_ENTER(2);

	p = bg_find_program(env, argv[0], argv[1]);
	if (!p)
		return NULL;
	errno = 0;
	return attached(env, bpf_program__attach_trace(p), "attach_trace", p);
}

/* attachRawTracepoint(h, prog, event) */
static napi_value attach_raw_tracepoint(napi_env env, napi_callback_info info)
{
	char event[NAME_CAP];
	struct bpf_program *p;
	BG_ENTER(3);

	p = bg_find_program(env, argv[0], argv[1]);
	if (!p || !bg_arg_string(env, argv[2], event, sizeof(event)))
		return NULL;
	errno = 0;
	return attached(env, bpf_program__attach_raw_tracepoint(p, event), "attach_raw_tracepoint", p);
}

/* attachTracepoint(h, prog, category, name) */
static napi_value attach_tracepoint(napi_env env, napi_callback_info info)
{
	char cat[NAME_CAP], name[NAME_CAP];
	struct bpf_program *p;
	BG_ENTER(4);

	p = bg_find_program(env, argv[0], argv[1]);
	if (!p || !bg_arg_string(env, argv[2], cat, sizeof(cat)) ||
	    !bg_arg_string(env, argv[3], name, sizeof(name)))
		return NULL;
	errno = 0;
	return attached(env, bpf_program__attach_tracepoint(p, cat, name), "attach_tracepoint", p);
}

/* attachKprobe(h, prog, function, cookie: number | bigint, retprobe: boolean) */
static napi_value attach_kprobe(napi_env env, napi_callback_info info)
{
	char fn[NAME_CAP];
	struct bpf_program *p;
	uint64_t cookie;
	bool ret;
	BG_ENTER(5);

	p = bg_find_program(env, argv[0], argv[1]);
	if (!p || !bg_arg_string(env, argv[2], fn, sizeof(fn)) || !bg_arg_u64(env, argv[3], &cookie) ||
	    !bg_arg_bool(env, argv[4], &ret))
		return NULL;
	{
		LIBBPF_OPTS(bpf_kprobe_opts, opts, .bpf_cookie = cookie, .retprobe = ret);

		errno = 0;
		return attached(env, bpf_program__attach_kprobe_opts(p, fn, &opts), "attach_kprobe", p);
	}
}

/* attachUprobe(h, prog, binaryPath, fileOffset, cookie: number | bigint, retprobe: boolean):
 * every process that maps the binary's inode (pid -1) */
static napi_value attach_uprobe(napi_env env, napi_callback_info info)
{
	char path[PATH_CAP];
	struct bpf_program *p;
	uint64_t offset, cookie;
	bool ret;
	BG_ENTER(6);

	p = bg_find_program(env, argv[0], argv[1]);
	if (!p || !bg_arg_string(env, argv[2], path, sizeof(path)) || !bg_arg_u64(env, argv[3], &offset) ||
	    !bg_arg_u64(env, argv[4], &cookie) || !bg_arg_bool(env, argv[5], &ret))
		return NULL;
	{
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = cookie, .retprobe = ret);

		errno = 0;
		return attached(env, bpf_program__attach_uprobe_opts(p, -1, path, (size_t)offset, &opts),
				"attach_uprobe", p);
	}
}

/* attachCgroup(h, prog, cgroupDir): the attach type comes from the SEC() name */
static napi_value attach_cgroup(napi_env env, napi_callback_info info)
{
	char path[PATH_CAP];
	struct bpf_program *p;
	struct bpf_link *link;
	int fd, err;
	BG_ENTER(3);

	p = bg_find_program(env, argv[0], argv[1]);
	if (!p || !bg_arg_string(env, argv[2], path, sizeof(path)))
		return NULL;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return bg_throw(env, "open_cgroup", errno, path);
	errno = 0;
	link = bpf_program__attach_cgroup(p, fd);
	err = errno ? errno : EINVAL;
	close(fd); /* the link holds the cgroup */
	if (!link)
		return bg_throw(env, "attach_cgroup", err, bpf_program__name(p));
	return wrap_link(env, link);
}

/*
 * A bpf_link over a link fd made with bpf_link_create: libbpf 1.1 has no
 * constructor from an fd, so the fd is pinned for an instant in bpffs and
 * opened (bpf_link__open), then unpinned. Takes ownership of fd.
 */
static napi_value link_from_fd(napi_env env, int fd, const char *op, const struct bpf_program *p)
{
	static unsigned long seq;
	char path[PATH_CAP];
	struct bpf_link *link;
	int err;

	snprintf(path, sizeof(path), "/sys/fs/bpf/bpfgate-newlink-%d-%lu", (int)getpid(), ++seq);
	if (bpf_obj_pin(fd, path)) {
		err = errno;
		close(fd);
		return bg_throw(env, op, err, "pin of the new link in /sys/fs/bpf");
	}
	errno = 0;
	link = bpf_link__open(path);
	err = errno ? errno : EINVAL;
	close(fd);
	if (!link) {
		unlink(path);
		return bg_throw(env, op, err, bpf_program__name(p));
	}
	/* forget the pin (the link stays: the handle holds it), so it can be pinned where the daemon wants */
	bpf_link__unpin(link);
	return wrap_link(env, link);
}

#ifndef BPF_TCX_INGRESS_NR
#define BPF_TCX_INGRESS_NR 46 /* BPF_TCX_INGRESS, Linux 6.6 */
#define BPF_TCX_EGRESS_NR 47
#endif

/* attachTcx(h, prog, ifindex, egress: boolean): a tcx link (Linux 6.6+) */
static napi_value attach_tcx(napi_env env, napi_callback_info info)
{
	struct bpf_program *p;
	uint32_t ifindex;
	bool egress;
	int fd;
	BG_ENTER(4);

	p = bg_find_program(env, argv[0], argv[1]);
	if (!p || !bg_arg_u32(env, argv[2], &ifindex) || !bg_arg_bool(env, argv[3], &egress))
		return NULL;
	fd = bpf_link_create(bpf_program__fd(p), (int)ifindex,
			     (enum bpf_attach_type)(egress ? BPF_TCX_EGRESS_NR : BPF_TCX_INGRESS_NR), NULL);
	if (fd < 0)
		return bg_throw(env, "attach_tcx", errno, bpf_program__name(p));
	return link_from_fd(env, fd, "attach_tcx", p);
}

/* attachXdp(h, prog, ifindex, flags): an XDP link; flags 0 (the driver's mode when it has one), XDP_FLAGS_SKB_MODE (2, generic) or XDP_FLAGS_DRV_MODE (4, native) */
static napi_value attach_xdp(napi_env env, napi_callback_info info)
{
	struct bpf_program *p;
	uint32_t ifindex, flags;
	int fd;
	BG_ENTER(4);

	p = bg_find_program(env, argv[0], argv[1]);
	if (!p || !bg_arg_u32(env, argv[2], &ifindex) || !bg_arg_u32(env, argv[3], &flags))
		return NULL;
	{
		LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);

		fd = bpf_link_create(bpf_program__fd(p), (int)ifindex, BPF_XDP, &opts);
	}
	if (fd < 0)
		return bg_throw(env, "attach_xdp", errno, bpf_program__name(p));
	return link_from_fd(env, fd, "attach_xdp", p);
}

/* ifIndex(name): the interface's index in this process's network namespace, 0 when there is none */
static napi_value if_index(napi_env env, napi_callback_info info)
{
	char name[IF_NAMESIZE + 1];
	BG_ENTER(1);

	if (!bg_arg_string(env, argv[0], name, sizeof(name)))
		return NULL;
	return bg_u32(env, if_nametoindex(name));
}

/* linkDestroy(l): detach (unless pinned) and free */
static napi_value link_destroy(napi_env env, napi_callback_info info)
{
	struct bg_link *l;
	BG_ENTER(1);

	l = bg_unwrap(env, argv[0], BG_H_LINK);
	if (!l)
		return NULL;
	bpf_link__destroy(l->link);
	l->link = NULL;
	return bg_undefined(env);
}

/* linkDetach(l): force-detach, even when pinned (the link fd stays valid, defunct) */
static napi_value link_detach(napi_env env, napi_callback_info info)
{
	struct bpf_link *link;
	int err;
	BG_ENTER(1);

	link = get_link(env, argv[0]);
	if (!link)
		return NULL;
	err = bpf_link__detach(link);
	if (err)
		return bg_throw(env, "link_detach", err, NULL);
	return bg_undefined(env);
}

/* linkPin(l, path) */
static napi_value link_pin(napi_env env, napi_callback_info info)
{
	char path[PATH_CAP];
	struct bpf_link *link;
	int err;
	BG_ENTER(2);

	link = get_link(env, argv[0]);
	if (!link || !bg_arg_string(env, argv[1], path, sizeof(path)))
		return NULL;
	err = bpf_link__pin(link, path);
	if (err)
		return bg_throw(env, "link_pin", err, path);
	return bg_undefined(env);
}

/* linkUnpin(l): remove the pin made by linkPin or the one it was opened from */
static napi_value link_unpin(napi_env env, napi_callback_info info)
{
	struct bpf_link *link;
	int err;
	BG_ENTER(1);

	link = get_link(env, argv[0]);
	if (!link)
		return NULL;
	err = bpf_link__unpin(link);
	if (err)
		return bg_throw(env, "link_unpin", err, NULL);
	return bg_undefined(env);
}

/* linkFd(l) */
static napi_value link_fd(napi_env env, napi_callback_info info)
{
	struct bpf_link *link;
	BG_ENTER(1);

	link = get_link(env, argv[0]);
	if (!link)
		return NULL;
	return bg_i32(env, bpf_link__fd(link));
}

/* linkOpenPinned(path): adopt a pinned link */
static napi_value link_open_pinned(napi_env env, napi_callback_info info)
{
	char path[PATH_CAP];
	struct bpf_link *link;
	BG_ENTER(1);

	if (!bg_arg_string(env, argv[0], path, sizeof(path)))
		return NULL;
	link = bpf_link__open(path);
	if (!link)
		return bg_throw(env, "link_open", errno, path);
	return wrap_link(env, link);
}

/* linkUpdateProgram(l, progFd): swap the program behind a link, atomically */
static napi_value link_update_program(napi_env env, napi_callback_info info)
{
	struct bpf_link *link;
	int32_t prog_fd;
	int err;
	BG_ENTER(2);

	link = get_link(env, argv[0]);
	if (!link || !bg_arg_i32(env, argv[1], &prog_fd))
		return NULL;
	err = bpf_link_update(bpf_link__fd(link), prog_fd, NULL);
	if (err)
		return bg_throw(env, "link_update", err, NULL);
	return bg_undefined(env);
}

/* linkInfo(l): { id, type, progId } from the kernel */
static napi_value link_info(napi_env env, napi_callback_info info)
{
	struct bpf_link *link;
	struct bpf_link_info li;
	uint32_t len = sizeof(li);
	napi_value o;
	int err;
	BG_ENTER(1);

	link = get_link(env, argv[0]);
	if (!link)
		return NULL;
	memset(&li, 0, sizeof(li));
	err = bpf_obj_get_info_by_fd(bpf_link__fd(link), &li, &len);
	if (err)
		return bg_throw(env, "link_info", err, NULL);
	NAPI_OK(napi_create_object(env, &o));
	bg_set(env, o, "id", bg_u32(env, li.id));
	bg_set(env, o, "type", bg_u32(env, li.type));
	bg_set(env, o, "typeName", bg_str(env, libbpf_bpf_link_type_str(li.type)));
	bg_set(env, o, "progId", bg_u32(env, li.prog_id));
	return o;
}

/* ---- fds owned by a handle (from bpf_obj_get) and pins ---- */

static void fd_finalize(napi_env env, void *data, void *hint)
{
	struct bg_fd *f = data;

	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

/* objGet(path): fd handle of a pinned map, program or link */
static napi_value obj_get(napi_env env, napi_callback_info info)
{
	char path[PATH_CAP];
	struct bg_fd *f;
	napi_value h;
	int fd;
	BG_ENTER(1);

	if (!bg_arg_string(env, argv[0], path, sizeof(path)))
		return NULL;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return bg_throw(env, "obj_get", fd, path);
	f = calloc(1, sizeof(*f));
	if (!f) {
		close(fd);
		return bg_throw(env, "obj_get", ENOMEM, path);
	}
	f->fd = fd;
	h = bg_wrap(env, BG_H_FD, f, fd_finalize);
	if (!h) {
		close(fd);
		free(f);
	}
	return h;
}

/* fdValue(h): the fd, or -1 when closed */
static napi_value fd_value(napi_env env, napi_callback_info info)
{
	struct bg_fd *f;
	BG_ENTER(1);

	f = bg_unwrap(env, argv[0], BG_H_FD);
	return f ? bg_i32(env, f->fd) : NULL;
}

/* fdClose(h) */
static napi_value fd_close(napi_env env, napi_callback_info info)
{
	struct bg_fd *f;
	BG_ENTER(1);

	f = bg_unwrap(env, argv[0], BG_H_FD);
	if (!f)
		return NULL;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	return bg_undefined(env);
}

/* objPin(fd, path): pin a map, program or link fd */
static napi_value obj_pin(napi_env env, napi_callback_info info)
{
	char path[PATH_CAP];
	int32_t fd;
	int err;
	BG_ENTER(2);

	if (!bg_arg_i32(env, argv[0], &fd) || !bg_arg_string(env, argv[1], path, sizeof(path)))
		return NULL;
	err = bpf_obj_pin(fd, path);
	if (err)
		return bg_throw(env, "obj_pin", err, path);
	return bg_undefined(env);
}

/* unpin(path) */
static napi_value unpin(napi_env env, napi_callback_info info)
{
	char path[PATH_CAP];
	BG_ENTER(1);

	if (!bg_arg_string(env, argv[0], path, sizeof(path)))
		return NULL;
	if (unlink(path))
		return bg_throw(env, "unpin", errno, path);
	return bg_undefined(env);
}

const struct bg_export bg_link_exports[] = {
	{ "attachAuto", attach_auto },
	{ "attachLsm", attach_lsm },
	{ "attachTrace", attach_trace },
	{ "attachRawTracepoint", attach_raw_tracepoint },
	{ "attachTracepoint", attach_tracepoint },
	{ "attachKprobe", attach_kprobe },
	{ "attachUprobe", attach_uprobe },
	{ "attachCgroup", attach_cgroup },
	{ "attachTcx", attach_tcx },
	{ "attachXdp", attach_xdp },
	{ "ifIndex", if_index },
	{ "linkDestroy", link_destroy },
	{ "linkDetach", link_detach },
	{ "linkPin", link_pin },
	{ "linkUnpin", link_unpin },
	{ "linkFd", link_fd },
	{ "linkOpenPinned", link_open_pinned },
	{ "linkUpdateProgram", link_update_program },
	{ "linkInfo", link_info },
	{ "objGet", obj_get },
	{ "fdValue", fd_value },
	{ "fdClose", fd_close },
	{ "objPin", obj_pin },
	{ "unpin", unpin },
};
const size_t bg_link_exports_n = sizeof(bg_link_exports) / sizeof(bg_link_exports[0]);
