/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * File identities: a file is what its inode is, whatever name reached it.
 *
 * bg_file_ids (abi.h) maps (sb->s_dev, i_ino) under a generation to the path
 * a rule names for that inode. User space resolves every existing path and
 * directory the plan's file rules name when it applies a plan. A program
 * holding a dentry (from a struct path, or the dentry a hook passes) asks
 * bg_ident_find() which rule path decides for it, and matches that path's key
 * beside the name it built: a hard link, a bind mount, another mount of the
 * same file system, a mount namespace's view or a chroot all end at the same
 * inode, or under the same directory inode.
 *
 * The walk follows d_parent within the dentry's file system (bind mounts
 * share the dentries of the file system they show), at most BG_IDENT_DEPTH
 * levels, one bpf_loop step each (the verifier checks one step, not sixteen): a file deeper than that below a protected directory, reached by
 * another name, is decided by its name only. Exec rules can use the same
 * lookup on bprm->file's dentry (the map's path would then be an exec path).
 */
#ifndef BPFGATE_IDENT_H
#define BPFGATE_IDENT_H

#include "path.h"

#define BG_IDENT_DEPTH 16

/* struct inode's change time before 6.6 (i_ctime) and from 6.6 to 6.10 (__i_ctime); 6.11 split it in two */
struct inode___ctime_61 {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));
struct inode___ctime_66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

/* The inode's change time, as stat(2) reports it. */
BG_INLINE void bg_inode_ctime(struct inode *inode, __s64 *sec, __u32 *nsec)
{
	if (bpf_core_field_exists(struct inode, i_ctime_sec)) {
		*sec = BPF_CORE_READ(inode, i_ctime_sec);
		/* from 6.13 the top bit says the change time was read (multigrain timestamps) */
		*nsec = BPF_CORE_READ(inode, i_ctime_nsec) & ~(1u << 31);
	} else if (bpf_core_field_exists(struct inode___ctime_66, __i_ctime)) {
		struct inode___ctime_66 *i = (void *)inode;

		*sec = BPF_CORE_READ(i, __i_ctime.tv_sec);
		*nsec = (__u32)BPF_CORE_READ(i, __i_ctime.tv_nsec);
	} else {
		struct inode___ctime_61 *i = (void *)inode;

		*sec = BPF_CORE_READ(i, i_ctime.tv_sec);
		*nsec = (__u32)BPF_CORE_READ(i, i_ctime.tv_nsec);
	}
}

/* What bg_ident_find accepts at the dentry itself, besides a file a rule names. */
#define BG_IDENT_SELF_DIR 0x1      /* a directory a rule names (renaming or removing it) */
#define BG_IDENT_SELF_ANCESTOR 0x2 /* a directory on the way to a protected path (renaming it) */

/* The dentry a path source names (NULL: a system call's string). */
BG_INLINE struct dentry *bg_src_dentry_of(const struct bg_path_src *s)
{
	const struct path *p = s->path; /* a local: the CO-RE read starts at struct path */

	switch (s->from) {
	case BG_FROM_DPATH:
	case BG_FROM_PATH:
		return BPF_CORE_READ(p, dentry);
	case BG_FROM_CHILD:
	case BG_FROM_MNT:
		return s->dentry;
	}
	return 0;
}

/* The identity key of one dentry's inode; 0: a negative dentry (no inode). */
BG_INLINE int bg_ident_key(struct bg_file_id_key *k, struct dentry *d)
{
	struct inode *inode = BPF_CORE_READ(d, d_inode);

	if (!inode)
		return 0;
	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->ino = BPF_CORE_READ(inode, i_ino);
	return 1;
}

struct bg_ident_walk {
	struct bg_file_id_key key; /* the dentry looked at; on a hit, the identity found */
	__u64 dentry;              /* struct dentry * */
	__u32 self;
	__u32 found;
};

/* One level of the walk (bpf_loop callback: verified once, whatever the depth). */
static long bg_ident_step(__u32 i, void *data)
{
	struct bg_ident_walk *c = data;
	struct dentry *d = (struct dentry *)c->dentry;
	struct bg_file_id_val *v;
	struct dentry *parent;

	if (!d)
		return 1;
	if (bg_ident_key(&c->key, d)) {
		v = bpf_map_lookup_elem(&bg_file_ids, &c->key);
		if (v) {
			__u32 type = v->type;

			if ((type == BG_FILE_ID_DIR && (i > 0 || (c->self & BG_IDENT_SELF_DIR))) ||
			    (i == 0 && type == BG_FILE_ID_FILE) ||
			    (i == 0 && type == BG_FILE_ID_ANCESTOR && (c->self & BG_IDENT_SELF_ANCESTOR))) {
				c->found = 1;
				return 1;
			}
		}
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (parent == d)
		return 1; /* the file system's root */
	c->dentry = (__u64)parent;
	return 0;
}

/*
 * The identity that decides for dentry d: d's own when a rule names it (a
 * file; with `self`, also a directory a rule names or one on the way to a
 * protected path), else the nearest ancestor that is a directory a rule
 * names. NULL: none within BG_IDENT_DEPTH levels.
 */
BG_INLINE struct bg_file_id_val *bg_ident_find(__u32 gen, struct dentry *d, __u32 self)
{
	struct bg_ident_walk c = { .key = { .gen = (__u8)gen }, .dentry = (__u64)d, .self = self };

	bpf_loop(BG_IDENT_DEPTH, bg_ident_step, &c, 0);
	if (!c.found)
		return 0;
	c.key.gen = (__u8)gen;
	return bpf_map_lookup_elem(&bg_file_ids, &c.key);
}

#endif /* BPFGATE_IDENT_H */
