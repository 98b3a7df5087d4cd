// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * The one compilation unit of bpf/build/bpfgate.bpf.o: every program of every
 * hook family, sharing one set of maps and one ring buffer. The family files
 * stay thin; the matching engine is in lib/.
 */
#include "lib/common.h"

#include "cgroup.bpf.c"
#include "tracepoint.bpf.c"
#include "security.bpf.c"
#include "kprobe.bpf.c"
#include "net.bpf.c"
#include "uprobe.bpf.c"

char LICENSE[] SEC("license") = "GPL";
