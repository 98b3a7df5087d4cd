/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Every map of the bpfgate object. The names MUST MATCH src/abi/layout.ts
 * MapName; key and value layouts are in abi.h.
 *
 * Two further maps are internal to the programs and never written by user
 * space: bg_heap (per-CPU scratch for keys and paths, too large for the
 * 512-byte stack) and bg_runtime (facts the programs learn at run time).
 * max_entries are defaults; the loader may resize before load.
 */
#ifndef BPFGATE_MAPS_H
#define BPFGATE_MAPS_H

#include "abi.h"

/* The sizes user space relies on (src/abi/layout.ts Size, EVENT_SIZE in src/abi/layout.ts). */
_Static_assert(sizeof(struct bg_path_key) == 260, "bg_path_key");
_Static_assert(sizeof(struct bg_rule_key) == 16, "bg_rule_key");
_Static_assert(sizeof(struct bg_net_key) == 28, "bg_net_key");
_Static_assert(sizeof(struct bg_rule_val) == 8, "bg_rule_val");
_Static_assert(sizeof(struct bg_exception_key) == 16, "bg_exception_key");
_Static_assert(sizeof(struct bg_cgroup_key) == 16, "bg_cgroup_key");
_Static_assert(sizeof(struct bg_cgroup_val) == 16, "bg_cgroup_val");
_Static_assert(sizeof(struct bg_id_key) == 8, "bg_id_key");
_Static_assert(sizeof(struct bg_gen_config) == 896, "bg_gen_config");
_Static_assert(sizeof(struct bg_state) == 16, "bg_state");
_Static_assert(sizeof(struct bg_event) == 512, "bg_event");
_Static_assert(sizeof(struct bg_file_id_key) == 16, "bg_file_id_key");
_Static_assert(sizeof(struct bg_file_id_val) == 256, "bg_file_id_val");

#define BG_RULES_MAX 16384
#define BG_SCOPE_MAX 4096
#define BG_TASKS_MAX 65536
#define BG_RINGBUF_BYTES (1u << 22)
#define BG_REPEATS_MAX 16384
#define BG_SCOPE_CACHE_MAX 8192

/* An LPM trie of path keys (struct bg_path_key -> struct bg_rule_val) */
#define BG_PATH_TRIE(name)                                                                         \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);                                               \
		__uint(max_entries, BG_RULES_MAX);                                                 \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__type(key, struct bg_path_key);                                                   \
		__type(value, struct bg_rule_val);                                                 \
	} name SEC(".maps")

BG_PATH_TRIE(bg_path_rules);

/* Every bg_path_rules key with its slot and op bytes 0: one lookup says
 * whether any slot has a rule for a prefix of the path, for any op
 * (lib/match.h, bg_path_any_hit) */
BG_PATH_TRIE(bg_path_any);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_RULES_MAX);
	__type(key, struct bg_rule_key);
	__type(value, struct bg_rule_val);
} bg_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BG_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bg_net_key);
	__type(value, struct bg_rule_val);
} bg_net_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_RULES_MAX);
	__type(key, struct bg_exception_key);
	__type(value, __u8);
} bg_exceptions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_SCOPE_MAX);
	__type(key, struct bg_cgroup_key);
	__type(value, struct bg_cgroup_val);
} bg_scope_cgroup SEC(".maps");

/* lib/scope.h: the cgroup part of the scope per cgroup, valid for a generation and two epochs */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BG_SCOPE_CACHE_MAX);
	__type(key, __u64);
	__type(value, struct bg_scope_cache_val);
} bg_scope_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} bg_scope_epoch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_SCOPE_MAX);
	__type(key, struct bg_cgroup_key);
	__type(value, struct bg_cgroup_watch);
} bg_cgroup_watch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_SCOPE_MAX);
	__type(key, struct bg_id_key);
	__type(value, struct bg_cgroup_glob);
} bg_cgroup_glob SEC(".maps");

/* the name of a cgroup being made (lib/cgwatch.h): compared at variable offsets */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[BG_CGROUP_NAME_MAX]);
} bg_cgroup_name SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_SCOPE_MAX);
	__type(key, struct bg_id_key);
	__type(value, __u64);
} bg_scope_uid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_SCOPE_MAX);
	__type(key, struct bg_id_key);
	__type(value, __u64);
} bg_scope_euid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_SCOPE_MAX);
	__type(key, struct bg_id_key);
	__type(value, __u64);
} bg_scope_exe SEC(".maps");

struct bg_exe_name {
	char path[BG_EXE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_SCOPE_MAX);
	__type(key, struct bg_exe_name);
	__type(value, __u32);
} bg_exe_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_SCOPE_MAX);
	__type(key, struct bg_file_id_key);
	__type(value, __u32);
} bg_exe_idents SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_SCOPE_MAX);
	__type(key, struct bg_file_id_key);
	__type(value, struct bg_exe_verified_val);
} bg_exe_verified SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_SCOPE_MAX);
	__type(key, struct bg_content_key);
	__type(value, __u32);
} bg_exe_contents SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BG_SCOPE_MAX);
	__type(key, struct bg_file_id_key);
	__type(value, struct bg_content_cache_val);
} bg_content_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BG_SCOPE_MAX);
	__type(key, __u32);
	__type(value, __u32);
} bg_task_content SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BG_TASKS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} bg_task_exe SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bg_gen_config);
} bg_gen_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bg_state);
} bg_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BG_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} bg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_REPEATS_MAX);
	__type(key, struct bg_repeat_key);
	__type(value, struct bg_repeat);
} bg_repeats SEC(".maps");

/* Written by the daemon only: per bg_repeats key, the count it has reported
 * (events or losses), so that a daemon adopting the pins reports only the
 * rest. No program reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_REPEATS_MAX);
	__type(key, struct bg_repeat_key);
	__type(value, __u64);
} bg_repeats_reported SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BG_RINGBUF_BYTES);
} bg_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_RULES_MAX);
	__type(key, struct bg_file_id_key);
	__type(value, struct bg_file_id_val);
} bg_file_ids SEC(".maps");

/* ---- internal ---- */

/* Path building: components are written backwards from the middle of buf, so
 * every write stays inside buf whatever the verifier knows of the offsets. */
#define BG_BUF_HALF 256
#define BG_BUF_MASK (BG_BUF_HALF - 1)
#define BG_NAME_MAX 255

/* Scratch state of one decision (one per CPU; programs do not nest on a CPU
 * except a tracepoint inside an LSM hook, which uses its own entry). */
struct bg_work {
	/* who */
	__u64 scope;
	__u64 cgroup_id;
	__u64 cgroup_ids[BG_CGROUP_DEPTH_MAX]; /* self, parent, ... */
	__u32 ncgroups;
	__u32 uid;
	__u32 exe_id;
	__u32 gen;
	__u32 ifindex; /* packet programs: the interface (0: a process's decision) */
	__u32 ifhook; /* packet programs: 0 tc, 1 XDP */
	/* what: the lookup keys */
	__u32 table;  /* enum bg_table */
	__u32 wild;   /* enum bg_wild, for BG_TABLE_RULES */
	struct bg_path_key pkey;
	struct bg_rule_key rkey;
	struct bg_net_key nkey;
	/* the decision */
	__u32 rule_id;
	__u8 action;
	__u8 flags;
	__u8 slot;
	__u8 rank;
	/* path building: the last built path is buf[start .. start + len) */
	__u32 start;
	__u32 len; /* NUL included */
	__u32 truncated; /* BG_EV_F_PATH_TRUNCATED | BG_EV_F_UNRESOLVED of the last built path */
	__u32 pad;
	char buf[2 * BG_BUF_HALF];
	char aux[BG_AUX_MAX];
	struct bg_exe_name exe; /* bg_exe_ids key (NUL-padded) */
};

/* index into bg_heap: one entry per nesting level */
#define BG_HEAP_MAIN 0
#define BG_HEAP_NESTED 1

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bg_work);
} bg_heap SEC(".maps");

/* bg_runtime: facts learned while running. */
struct bg_runtime_val {
	__u32 lsm_exec_seen;   /* bg_lsm_bprm_check ran: exec rules are decided there */
	__u32 lsm_socket_seen; /* bg_lsm_socket_create ran: socket rules are decided there */
	__u32 lsm_listen_seen; /* bg_lsm_socket_listen ran: listen() is decided there */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bg_runtime_val);
} bg_runtime SEC(".maps");

BG_INLINE void bg_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&bg_stats, &idx);

	if (v)
		*v += 1;
}

BG_INLINE struct bg_work *bg_work_get(__u32 level)
{
	return bpf_map_lookup_elem(&bg_heap, &level);
}

#endif /* BPFGATE_MAPS_H */
