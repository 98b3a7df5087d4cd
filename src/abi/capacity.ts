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
  [MapName.rules]: MAP_BUDGET.rules,
  [MapName.netRules]: MAP_BUDGET.netRules,
  [MapName.exceptions]: MAP_BUDGET.exceptions,
  [MapName.scopeCgroup]: 4096,
  [MapName.scopeUid]: 4096,
  [MapName.scopeExe]: 4096,
  /** no generation in the key: ids are shared by both generations */
  [MapName.exeIds]: 8192,
  /** ARRAY, one entry per generation */
  [MapName.genConfig]: 1,
};
