// Capacities of the kernel maps that hold one policy set, and the byte limits
// of the strings stored in them. The validator rejects a set that would not
// fit (TOO_MANY_ENTRIES, PATH_TOO_LONG); the compiler imports the same numbers.
//
// Entry budgets are per generation: a reload writes the new set under the
// inactive generation before the old one is deleted, so every map must be
// created with room for twice its budget (see bpf/lib/abi.h, "Generations").
import { MAX_SLOTS, PATH_MAX } from '../abi/layout.ts';

/** Policies in one set: one slot each. */
export const MAX_POLICIES = MAX_SLOTS;

/** Bytes of a path, NUL included, that fit in a bg_path_key (exec and file paths, sysctl names). */
export const MAX_PATH_BYTES = PATH_MAX;

/** Entries one policy set may put in each kernel map, per generation. */
export { MAP_BUDGET, type MapBudgetName } from '../abi/capacity.ts';

/** Highest device major and minor numbers (12 and 20 bits). */
export const MAX_DEVICE_MAJOR = 4095;
export const MAX_DEVICE_MINOR = 1048575;

/** Longest policy name and rule id (they appear in events and NATS subjects). */
export const MAX_NAME_LENGTH = 63;

/** Bytes of YAML one source (a file, a fleet bucket entry) may hold; beyond, it is not parsed. */
export const MAX_YAML_BYTES = 1024 * 1024;
/** Nesting levels of YAML collections (block and flow); a policy needs about eight. */
export const MAX_YAML_DEPTH = 64;
/** Aliases (*name) in one source; policies need none. */
export const MAX_YAML_ALIASES = 100;
