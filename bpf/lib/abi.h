/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * bpfgate kernel ABI: the byte layout of every map key, map value and
 * ring-buffer record shared by the BPF programs and user space.
 *
 * User-space mirror: src/abi/layout.ts (enum values, sizes, offsets).
 * Every enum value below MUST MATCH src/abi/layout.ts; the layout test
 * (test/unit/abi-layout.test.ts) compares the struct offsets with the BTF of
 * the built object.
 *
 * Matching model (flat cost in the number of rules):
 *   1. A policy occupies a slot (0..63). The process's scope mask is computed
 *      with a constant number of lookups: cgroup (its own id, then its
 *      ancestors for subtree selectors), uid and acting executable id.
 *   2. For each slot set in (scope mask & kind_slots[kind]) the program makes
 *      one lookup whose key holds (gen, slot, kind, op, target): a hash map for
 *      numeric targets, an LPM trie for paths, sysctl names and addresses.
 *      Wildcards (BG_ANY) are separate entries, looked up after the exact key.
 *   3. A hit's value names the rule id; exceptions are one hash lookup each
 *      (exe id, uid, cgroup and its ancestors) keyed by (gen, rule id, value).
 *   4. A miss in a slot that is default-block for the kind blocks (allowlist).
 *
 * Generations: every key carries `gen`. User space writes a new policy set
 * under the inactive generation, then flips bg_state.active_gen (one 32-bit
 * store), then deletes the old generation's entries. There is no instant
 * without a complete rule set.
 */
#ifndef BPFGATE_ABI_H
#define BPFGATE_ABI_H

#define BG_MAX_SLOTS 64
#define BG_KIND_MAX 32
/* LPM trie data is at most 256 bytes: 4 header bytes + 252 of path (with NUL) */
#define BG_PATH_MAX 252
#define BG_EXE_MAX 256
#define BG_AUX_MAX 128
#define BG_COMM_LEN 16
#define BG_ANY 0xffffffffu
#define BG_CGROUP_DEPTH_MAX 16
/* rule ids at and above this value denote an allowlist's default action: BG_RULE_DEFAULT | slot */
#define BG_RULE_DEFAULT 0x80000000u

/*
 * Rule kinds and their operations: each kind's header, bpf/kinds/<kind>.h,
 * defines its BG_KIND_<KIND> (the kind byte of keys, bg_gen_config's per-kind
 * arrays and records, 1 .. BG_KIND_MAX - 1) and its BG_OP_<KIND>_* (the op
 * byte), and says what its keys and records hold. They MUST MATCH the kind's
 * module, src/kinds/<kind>.ts (abi, ops); test/unit/kinds/registry.test.ts
 * reads the headers to check.
 */
#define BG_OP_NONE 0

/* Achieved action stored in a rule value. MUST MATCH src/abi/layout.ts Action. */
enum bg_action {
	BG_ACT_NONE = 0,
	BG_ACT_ALLOW = 1,
	BG_ACT_AUDIT = 2,
	BG_ACT_BLOCK = 3,
	BG_ACT_KILL = 4,
};

/* How the decision was enforced. MUST MATCH src/abi/layout.ts Mechanism. */
enum bg_mechanism {
	BG_MECH_LSM = 1,
	BG_MECH_CGROUP = 2,
	BG_MECH_TRACEPOINT = 3,
	BG_MECH_KPROBE = 4,
	BG_MECH_FMOD_RET = 5, /* fmod_ret on a security_* function (BPF-LSM not active) */
	BG_MECH_UPROBE = 6,
	BG_MECH_TC = 7,  /* tc (tcx) on an interface: the packet is dropped */
	BG_MECH_XDP = 8, /* XDP on an interface: the packet is dropped before the stack */
};

/* What happened to the action. MUST MATCH src/abi/layout.ts Outcome. */
enum bg_outcome {
	BG_OUT_DENIED = 1,
	BG_OUT_KILLED = 2,
	BG_OUT_ALLOWED = 3, /* audit rule: allowed and reported */
	BG_OUT_WOULD_BLOCK = 4,
	BG_OUT_WOULD_KILL = 5,
	BG_OUT_KILLED_AFTER = 6,      /* killed on return from a system call that completed (sys_enter) */
	BG_OUT_WOULD_KILL_AFTER = 7,  /* audit mode: would have been killed after the call */
};

/* Exception subject types (bg_exception_key.type). */
enum bg_exception_type {
	BG_EXC_EXE = 1,
	BG_EXC_UID = 2,
	BG_EXC_CGROUP = 3,         /* exactly this cgroup */
	BG_EXC_CGROUP_SUBTREE = 4, /* this cgroup or any descendant */
	BG_EXC_EUID = 5,           /* the effective uid (task->cred->euid), read only for rules with BG_VAL_F_EXC_EUID */
};

/* bg_rule_val.flags */
#define BG_VAL_F_DRYRUN 0x01 /* audit mode: report would-<action>, deny/kill nothing */
#define BG_VAL_F_EXC_EUID 0x02 /* the rule excepts effective uids (BG_EXC_EUID): read the credential */

/* bg_event.flags */
#define BG_EV_F_PATH_TRUNCATED 0x0001
#define BG_EV_F_EXE_UNKNOWN 0x0002
#define BG_EV_F_EXE_PATH 0x0004 /* path holds the acting executable, read by the kernel at the decision */
/* the path could not be built (longer than the buffer, deeper than the walk, refused by
 * bpf_d_path): it was decided as the key BG_PATH_UNRESOLVED_KEY, fail closed */
#define BG_EV_F_UNRESOLVED 0x0008

/* bg_path_rules: the target of a path that could not be built ("\x01", exact: no real path
 * starts with it). The compiler writes, per (slot, kind, op), the block or kill rule that
 * decides such a path. */
#define BG_PATH_UNRESOLVED_KEY 0x01
/* bg_path_rules: the target of a file with no name in any file system (exec rules' `fileless: true`) */
#define BG_PATH_FILELESS_KEY 0x02
/* bg_path_rules: the target of a file an inode hook is given without its mount, on a file system
 * other than the task root's: where it is mounted is not known, only that it is below "/". The
 * compiler writes, per (slot, kind, op), the block or kill rule on the directory "/" that decides
 * it; rules on other paths decide such a file by its identity alone (lib/ident.h). */
#define BG_PATH_FOREIGN_KEY 0x03
/* bg_task_exe: the exe id of a process whose executable's path could not be built; bg_scope_exe
 * holds the slots with an executable scope for it, and no exception names it */
#define BG_EXE_ID_UNRESOLVED 0xffffffffu
/* bg_cgroup_ids[BG_CGROUP_DEPTH_MAX - 1] when the cgroup is deeper than the walk: bg_scope_cgroup
 * holds every slot with a cgroup selector in its subtree mask */
#define BG_CGROUP_ID_UNRESOLVED 0xffffffffffffffffull

/* ---- map keys and values ---- */

/*
 * bg_path_rules (LPM_TRIE): exec and file paths, sysctl names.
 *   prefixlen = 32 + 8 * n, n = bytes of path that must match:
 *     exact path "/etc/shadow"       n = strlen + 1 (the NUL must match too)
 *     directory  "/etc/ssh/"         n = strlen (always ends in '/')
 *     sysctl name "kernel/core_pattern" exact: strlen + 1; prefix "net/ipv4/": strlen
 *   Sysctl names use '/' separators, as the kernel's cgroup/sysctl hook reports them.
 */
struct bg_path_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 slot;
	__u8 kind;
	__u8 op;
	char path[BG_PATH_MAX];
};

/*
 * bg_rules (HASH): every kind whose target is numeric; what (op, a, b, c)
 * hold is the kind's (bpf/kinds/<kind>.h). Fields a kind does not use are 0.
 * Lookup order with wildcards: exact, then BG_ANY in the last wildcardable
 * field, then in both (enum bg_wild).
 */
struct bg_rule_key {
	__u8 gen;
	__u8 slot;
	__u8 kind;
	__u8 op;
	__u32 a;
	__u32 b;
	__u32 c;
};

/*
 * bg_net_rules (LPM_TRIE): connect and bind.
 *   prefixlen = 64 + cidr bits. port 0 = any port, proto 0 = any protocol
 *   (IPPROTO_TCP 6, IPPROTO_UDP 17); family 4 or 6; an IPv4 address uses
 *   addr[0..3]. Port is in host byte order. A port range is one entry per port.
 *   Lookups: (proto, port), (proto, 0), (0, port), (0, 0).
 */
struct bg_net_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 slot;
	__u8 kind;
	__u8 proto;
	__u16 port;
	__u8 family;
	__u8 pad;
	__u8 addr[16];
};

struct bg_rule_val {
	__u32 rule_id; /* index into the plan's rule table */
	__u8 action;   /* enum bg_action, as achieved with this program's mechanism */
	__u8 flags;    /* BG_VAL_F_* */
	__u16 pad;
};

/* bg_exceptions (HASH) -> __u8 1 */
struct bg_exception_key {
	__u32 rule_id;
	__u8 gen;
	__u8 type; /* enum bg_exception_type */
	__u16 pad;
	__u64 value; /* exe id, uid or cgroup id */
};

/* bg_scope_cgroup (HASH) */
struct bg_cgroup_key {
	__u64 cgroup_id;
	__u8 gen;
	__u8 pad[7];
};
struct bg_cgroup_val {
	__u64 self;    /* slots selecting exactly this cgroup */
	__u64 subtree; /* slots selecting this cgroup and every descendant */
};

/*
 * bg_scope_cache (LRU_HASH): cgroup id -> the cgroup part of a process's
 * scope, as lib/scope.h computed it for that cgroup: the slots bg_scope_cgroup
 * gives the cgroup and its ancestors, and the chain of ids (self, parent, ...).
 * An entry holds while the generation and both epochs are the ones it was
 * computed at; otherwise it is computed again. bg_scope_epoch (ARRAY of __u64):
 * [BG_EPOCH_DAEMON] the daemon adds one after it writes bg_scope_cgroup
 * (every applied set), [BG_EPOCH_KERNEL] the programs add one after they do
 * (a cgroup made or removed, lib/cgwatch.h). A cgroup's ancestors never change
 * (cgroup v2 renames only within a parent), so nothing else can make an entry
 * stale. No other state is cached: uid, effective uid, executable and pid
 * namespace are the task's and read at every decision.
 */
#define BG_EPOCH_DAEMON 0
#define BG_EPOCH_KERNEL 1
struct bg_scope_cache_val {
	__u64 mask;         /* bg_scope_cgroup's slots for the chain (any_cgroup not included) */
	__u64 epoch_daemon; /* bg_scope_epoch[BG_EPOCH_DAEMON] when computed */
	__u64 epoch_kernel; /* bg_scope_epoch[BG_EPOCH_KERNEL] when computed */
	__u32 gen;
	__u32 n;            /* ids in the chain */
	__u64 ids[BG_CGROUP_DEPTH_MAX];
};

/*
 * Cgroups created after a set was applied (lib/cgwatch.h). A selector
 * without ** (/system.slice/nginx.service, /kubepods.slice/kubepods-pod*.slice)
 * is a chain of states, one per component; bg_cgroup_watch[{cgroup, gen}]
 * lists the states the children of that cgroup are matched against when they are made, and a
 * child that matches one gets the state's slots in bg_scope_cgroup, and its
 * next state in a watch entry of its own. User space writes both for the
 * cgroups that exist when a set is applied.
 *
 * bg_cgroup_watch (HASH): key struct bg_cgroup_key -> struct bg_cgroup_watch
 * bg_cgroup_glob (HASH): key struct bg_id_key (id = state, >= 1) -> struct bg_cgroup_glob
 */
#define BG_WATCH_STATES 16
#define BG_GLOB_PART_MAX 64    /* a component's text before or after its '*', NUL-padded */
#define BG_CGROUP_NAME_MAX 128 /* a longer name cannot be compared: it matches (fail closed) */
struct bg_cgroup_watch {
	__u16 states[BG_WATCH_STATES]; /* 0 ends the list */
};
struct bg_cgroup_glob {
	__u64 self;    /* slots that select a matching child exactly */
	__u64 subtree; /* slots that select a matching child and every descendant */
	__u16 next;    /* the state the matching child's own children are matched against; 0: none */
	__u8 star;     /* 0: the name is exactly prefix; 1: prefix, anything, suffix */
	__u8 prefix_len;
	__u8 suffix_len;
	__u8 pad[3];
	char prefix[BG_GLOB_PART_MAX];
	char suffix[BG_GLOB_PART_MAX];
};

/* bg_scope_uid (HASH) -> __u64 slot mask; bg_scope_exe (HASH) -> __u64 slot mask */
struct bg_id_key {
	__u32 id; /* uid, or exe id */
	__u8 gen;
	__u8 pad[3];
};

/* bg_exe_ids (HASH): key char[BG_EXE_MAX] (NUL-padded absolute path) -> __u32 exe id (>= 1).
 * Only executables named by a scope, an exception or an exec allow rule get an id.
 * BG_EXE_ID_BOUND set in the value: the path names a file this host has (bg_exe_idents
 * holds its identity), so another file reached by that name (a bind mount over it, a
 * chroot's file of the same name, a file put there since) is not that executable: its
 * process gets BG_EXE_ID_UNRESOLVED (in every executable scope, never excepted).
 * bg_exe_idents (HASH): struct bg_file_id_key (gen 0: no generation) -> __u32 exe id:
 * the named executables by what they are, whatever name runs them (a hard link, a bind
 * mount, a mount namespace, a chroot). Written by user space at load and kept current. */
#define BG_EXE_ID_BOUND 0x80000000u
#define BG_EXE_ID_MASK 0x7fffffffu
/* bg_task_exe: set beside the exe id when the file the process runs has the content an
 * exception pins (`unless.executables` with `sha256`): bg_exe_verified holds the file's
 * change time and size as they were when user space measured its digest, and the exec
 * tracepoint sets the bit only while they are unchanged. bg_scope_exe holds every exe id
 * with and without it; a pinned exception only the id with it. */
#define BG_EXE_ID_VERIFIED 0x40000000u
/*
 * Exceptions by content alone (`unless.executables: [{ sha256: [...] }]`), where BPF-LSM runs
 * sleepable programs with bpf_ima_file_hash: bg_lsm_exe_content (lsm.s/bprm_committed_creds)
 * computes the SHA-256 of the file an exec runs (bg_content_cache keeps it by identity while the
 * change time and size stay), looks it up in bg_exe_contents (digest -> exe id, written by the
 * compiler: each digest is an executable of its own, named "sha256:<hex>" in bg_exe_ids) and
 * leaves the id in bg_task_content[tgid]; bg_tp_exec gives it to a process whose file has no
 * exe id of its own (a named executable is decided by its name and identity).
 */
struct bg_content_key {
	__u8 sha256[32];
};
struct bg_content_cache_val {
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 pad;
	__s64 size;
	__u8 sha256[32];
};
/* bg_exe_verified (HASH): struct bg_file_id_key (gen 0) -> struct bg_exe_verified_val:
 * the named executables whose SHA-256 is one the policy set pins, as measured by user space
 * while no process had the file open for writing. Any write after that changes the change
 * time (a write, a truncate, a shared writable mapping's first write fault). */
struct bg_exe_verified_val {
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 pad;
	__s64 size;
};
/*
 * bg_task_exe (LRU_HASH): tgid -> __u32 exe id; kept by the exec/fork/exit tracepoints,
 * seeded by user space from /proc at start. */

/* bg_gen_config (ARRAY, 2 entries: index = gen) */
struct bg_gen_config {
	__u64 active_slots;
	__u64 any_cgroup;      /* slots without a cgroup selector */
	__u64 any_uid;         /* slots without a uid selector */
	__u64 any_exe;         /* slots without an executable selector */
	__u64 host_only;       /* slots limited to the host's pid namespace */
	__u64 containers_only; /* slots limited to other pid namespaces */
	__u64 dryrun;          /* slots in audit mode (for default-action reports) */
	__u64 kind_slots[BG_KIND_MAX];    /* slots with at least one entry for a kind (index = bg_kind) */
	__u64 default_block[BG_KIND_MAX]; /* allowlist posture: slots that block a miss, per kind */
	__u64 default_kill[BG_KIND_MAX];  /* of those, slots whose miss is a kill (the kind's posture achieves kill here) */
	__u8 default_action[BG_MAX_SLOTS]; /* achieved action for a default-block miss, per slot (bg_action) */
	__u64 any_euid;        /* slots without an effective-uid selector */
};

/* bg_state (ARRAY, 1 entry) */
struct bg_state {
	__u32 active_gen;       /* 0 or 1 */
	__u32 host_pidns_inum;  /* inode number of the host's pid namespace */
	__u32 daemon_tgid;      /* bpfgate's own process, never matched ... */
	__u32 daemon_start;     /* ... while its start time is this one: clock ticks (1/100 s) since
				 * boot, /proc/<tgid>/stat field 22, modulo 2^32; a later process given
				 * the same pid started later, and is not exempt */
};

/* bg_stats (PERCPU_ARRAY) counters, index: */
enum bg_stat {
	BG_STAT_EVENTS = 0,        /* records written to the ring buffer */
	BG_STAT_RINGBUF_DROPS = 1, /* records lost: ring buffer full */
	BG_STAT_DENIED = 2,
	BG_STAT_KILLED = 3,
	/* written by the daemon only (CPU 0): the ring-buffer drops it has
	 * reported, so that a daemon adopting the pins reports those that
	 * happened while none ran */
	BG_STAT_DROPS_REPORTED = 4,
	/* dry runs: a would-block or would-kill exec by a process (or its child) that one
	 * already reported for the same rule: counted, not recorded (kinds/exec.h) */
	BG_STAT_AUDIT_FOLLOWUPS = 5,
	/* a cgroup made after the set was applied that a selector matches, left out of
	 * scope because bg_scope_cgroup or bg_cgroup_watch was full (lib/cgwatch.h) */
	BG_STAT_CGROUP_SCOPE_FULL = 6,
	/* violations counted without a record: a process repeating one violation
	 * past bg_repeat_records (16) a second (bg_repeats, lib/event.h) */
	BG_STAT_REPEATS = 7,
	BG_STAT_MAX = 8,
};

/* ---- the ring-buffer record (bg_events, RINGBUF) ----
 *
 * What arg[], path and aux hold is the kind's (bpf/kinds/<kind>.h, "The
 * record"). For kinds without a path of their own, path holds the acting
 * executable, best effort: BG_EV_F_EXE_PATH says it does, BG_EV_F_EXE_UNKNOWN
 * that it could not be read.
 */
struct bg_event {
	__u64 ts_ns; /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;
	__u32 rule_id;
	__u32 pid;  /* thread id */
	__u32 tgid;
	__u32 ppid; /* parent's tgid */
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__s32 ret; /* what the kernel returned to the caller (-EPERM when denied, else 0) */
	__u8 kind;
	__u8 action;
	__u8 mechanism;
	__u8 op;
	__u8 outcome;
	__u8 slot;
	__u16 flags;
	__u32 exe_id;
	__u8 gen; /* the generation of the rule set that decided (rule_id and slot belong to it) */
	__u8 pad[3];
	__u64 repeats; /* bg_repeats' count for this process, rule, op, outcome and target when written */
	__u64 target;  /* the target digest of bg_repeats' key (0: any target) */
	__u64 arg[4];
	char comm[BG_COMM_LEN];
	char path[BG_EXE_MAX];
	char aux[BG_AUX_MAX];
};

/*
 * bg_repeats (HASH): one violation repeated by one process, aggregated in the
 * kernel. Key: the process (tgid), the rule under its generation, the kind,
 * the operation, the outcome and the target (a digest of what the record
 * would say: another file, address or id is another key, so a repeat can
 * never hide another target behind its count). The first bg_repeat_records (16) attempts of a key
 * in each second of boot time are records; the others are only counted in
 * `counted` (atomic, never reset), which every later record of the key carries
 * (bg_event.repeats). The daemon reads the counts no record followed, and
 * deletes a key once its process is gone and its count reported. When the map
 * is full a new key is not aggregated: each attempt is a record (lib/event.h).
 * Only the record is spared: every attempt is decided, denied and killed.
 */
struct bg_repeat_key {
	__u32 tgid;
	__u32 rule_id;
	__u8 gen;
	__u8 kind;
	__u8 op;
	__u8 outcome;
	__u32 pad;
	__u64 target; /* a digest of the record's arguments, path and aux: the same violation */
};

struct bg_repeat {
	__u64 sec;     /* the second of boot time (+ 1) of in_sec */
	__u64 counted; /* attempts not recorded, since the key was made */
	__u32 in_sec;  /* attempts in that second */
	__u32 pad;
};

/*
 * bg_file_ids (HASH): file identities. Key: a file's device and inode as the
 * kernel sees them (sb->s_dev, i_ino) under a generation; value: the path a
 * file rule names for it, as bg_path_rules keys it ("/etc/shadow",
 * "/etc/ssh/" for a directory), NUL-padded. Written by user space when a plan
 * is applied, from the paths the plan's file rules name (stat(2), st_dev
 * converted to the kernel's encoding). lib/ident.h.
 */
struct bg_file_id_key {
	__u8 gen;
	__u8 pad[3];
	__u32 dev; /* sb->s_dev: major << 20 | minor */
	__u64 ino;
};

enum bg_file_id_type {
	BG_FILE_ID_FILE = 1,     /* a path a rule names exactly */
	BG_FILE_ID_DIR = 2,      /* a directory a rule names: path ends in '/' */
	BG_FILE_ID_ANCESTOR = 3, /* a directory on the way to a protected path: renaming it renames that path */
};

struct bg_file_id_val {
	__u32 type; /* enum bg_file_id_type */
	char path[BG_PATH_MAX];
};

#endif /* BPFGATE_ABI_H */
