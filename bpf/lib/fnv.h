/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* FNV-1a, 32 bit. MUST MATCH fnv1a32() in src/abi/layout.ts (mount fstypes). */
#ifndef BPFGATE_FNV_H
#define BPFGATE_FNV_H

#define BG_FNV_OFFSET 0x811c9dc5u
#define BG_FNV_PRIME 0x01000193u
#define BG_FNV_MAX 32

/* Hash of the NUL-terminated string in s (at most BG_FNV_MAX bytes are hashed). */
BG_INLINE __u32 bg_fnv1a32(const char *s, __u32 size)
{
	__u32 h = BG_FNV_OFFSET;

	for (__u32 i = 0; i < BG_FNV_MAX; i++) {
		if (i >= size || !s[i])
			break;
		h ^= (__u8)s[i];
		h *= BG_FNV_PRIME;
	}
	return h;
}

#endif /* BPFGATE_FNV_H */
