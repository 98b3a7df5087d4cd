/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* What every entry file includes: kernel types (CO-RE), libbpf's helpers and
 * the bpfgate library. */
#ifndef BPFGATE_COMMON_H
#define BPFGATE_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "bg_macros.h"
#include "abi.h"
#include "maps.h"
#include "fnv.h"
#include "path.h"
#include "scope.h"
#include "match.h"
#include "event.h"

#endif /* BPFGATE_COMMON_H */
