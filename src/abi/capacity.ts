// Map capacities, per generation: what one policy set may write in each map.
// The policy validator checks the rule-map budgets (TOO_MANY_ENTRIES), the
// compiler checks every map again as a safety net, and the kernel session
// creates each generation-keyed map with twice its capacity: both generations
// live in a map during a swap (bpf/lib/abi.h, "Generations").
import { MapName } from './layout.ts';

/** Entries one policy set may put in each rule map, per generation. */
export const MAP_BUDGET = {
  /** bg_path_rules: exec and file paths and directories (one per file operation), sysctl names and prefixes (one per access) */
  pathRules: 65536,
  /** bg_net_rules: one per CIDR, per port (a range expands to every port in it), per protocol */
  netRules: 65536,
  /** bg_rules: capability, module, bpf, ptrace, mount, setuid, socket, device and kprobe entries */
  rules: 65536,
  /** bg_exceptions: one per `unless` executable, uid and cgroup selector, per rule */
  exceptions: 16384,
} as const;
export type MapBudgetName = keyof typeof MAP_BUDGET;

/** Entries one generation may write in each map the compiler fills. */
export const GENERATION_CAPACITY: Readonly<Record<string, number>> = {
  [MapName.pathRules]: MAP_BUDGET.pathRules,
  /** the same keys with the slot and op bytes 0: never more than bg_path_rules has */
  [MapName.pathAny]: MAP_BUDGET.pathRules,
  [MapName.rules]: MAP_BUDGET.rules,
  [MapName.netRules]: MAP_BUDGET.netRules,
  [MapName.exceptions]: MAP_BUDGET.exceptions,
  [MapName.scopeCgroup]: 4096,
  [MapName.scopeUid]: 4096,
  [MapName.scopeEuid]: 4096,
  [MapName.scopeExe]: 4096,
  /** cgroups whose future children a selector without ** matches against (one per cgroup) */
  [MapName.cgroupWatch]: 4096,
  /** one per component of each selector without ** */
  [MapName.cgroupGlob]: 4096,
  /** no generation in the key: ids are shared by both generations */
  [MapName.exeIds]: 8192,
  /** the loader's: one per named executable this host has, by identity (no generation either) */
  [MapName.exeIdents]: 8192,
  /** the loader's too: the named executables of those whose digest matched a pin */
  [MapName.exeVerified]: 8192,
  /** the compiler's: one per digest excepted alone */
  [MapName.exeContents]: 4096,
  /** ARRAY, one entry per generation */
  [MapName.genConfig]: 1,
};

/**
 * The capacities a policy set grows into, as metrics and /status report them:
 * every map of GENERATION_CAPACITY but bg_gen_config, which holds exactly one
 * configuration record per generation by design (always 1 of 1, never a sign
 * of a set that outgrows its map).
 */
export const REPORTED_CAPACITY: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(GENERATION_CAPACITY).filter(([map]) => map !== MapName.genConfig),
);
