// bpf: the bpf() system call, by command (BPF-LSM bpf; sys_enter kills after
// the call where BPF-LSM is missing). BPF side: bpf/kinds/bpf.h.
import { ANY } from '../abi/layout.ts';
import { BPF_COMMAND, type BpfCommand } from '../abi/numbers.ts';
import { closest } from '../policy/text.ts';
import { nameOr, u32 } from './decode.ts';
import { ruleKey } from './keys.ts';
import { dedupe, defineKind, ENFORCING, wholeUnit } from './kind.ts';
import { OCSF_CLASSES } from './ocsf.ts';
import { list, obj, record, ref, u32 as u32Schema } from './schema.ts';

export interface BpfMatch {
  kind: 'bpf';
  /** canonical names: BPF_PROG_LOAD; empty = every command */
  commands: string[];
}

export interface BpfTarget {
  command: string;
  number: number;
}

/** The kernel's second name for a command; the language accepts only the name in BPF_COMMAND. */
export const BPF_COMMAND_ALIASES: Readonly<Record<string, BpfCommand>> = {
  BPF_PROG_RUN: 'BPF_PROG_TEST_RUN',
};

/** The canonical spelling a user probably meant ("prog_load", "BPF_PROG_RUN" -> ...), or null. */
export function suggestBpfCommand(name: string): BpfCommand | null {
  const upper = name.toUpperCase().replace(/-/g, '_');
  const full = upper.startsWith('BPF_') ? upper : `BPF_${upper}`;
  if (full in BPF_COMMAND_ALIASES) return BPF_COMMAND_ALIASES[full] ?? null;
  return BPF_COMMAND.has(full) ? full : (closest(full, BPF_COMMAND.names) as BpfCommand | null);
}

/** Commands that create an object (OCSF activity Create rather than Invoke). */
const CREATES = new Set([
  'BPF_MAP_CREATE',
  'BPF_PROG_LOAD',
  'BPF_BTF_LOAD',
  'BPF_LINK_CREATE',
  'BPF_TOKEN_CREATE',
]);

const HOOKS = [{ program: 'bg_lsm_bpf' }, { program: 'bg_tp_sys_enter' }] as const;

export const bpf = defineKind<BpfMatch, BpfTarget>('bpf', 5, {
  actions: ENFORCING,
  match: obj('bpf match', 'Which bpf() commands the rule matches.', {
    commands: list(ref('bpfCommand'), 'bpf() commands, e.g. BPF_PROG_LOAD. Omitted: every command.'),
  }),
  schemaDefs: {
    bpfCommand: {
      schema: { enum: [...BPF_COMMAND.names], description: 'A bpf() command.' },
      code: 'UNKNOWN_BPF_COMMAND',
      unknown: { what: 'bpf command', suggest: suggestBpfCommand },
    },
  },
  normalize: (r, m, path) => ({ kind: 'bpf', commands: dedupe(r.optional<string>(m, 'commands', path)) }),
  targets: (m) => (m.commands.length > 0 ? m.commands : ['*']),
  budget: 'rules',
  entries: (m) => Math.max(1, m.commands.length),

  hooks: HOOKS,
  keys: (m, ctx) =>
    (m.commands.length === 0 ? [ANY] : m.commands.map((c) => BPF_COMMAND.number(c))).map((a) =>
      ruleKey(ctx, 5, 0, a),
    ),
  units: () => wholeUnit('bpf', HOOKS),

  target: record(['command', 'number'], {
    command: { type: 'string', pattern: '^BPF_[A-Z0-9_]+$' },
    number: u32Schema,
  }),
  decode: (r) => ({ command: nameOr(BPF_COMMAND, u32(r.args[0]), 'BPF_CMD_'), number: u32(r.args[0]) }),
  describe: (t) => t.command,
  ocsf: (e) => ({
    cls: OCSF_CLASSES.kernel,
    activity: CREATES.has(e.target.command) ? [1, 'Create'] : [4, 'Invoke'],
    fields: { kernel: { name: e.target.command, type_id: 2, type: 'System Call', system_call: 'bpf' } },
  }),

  representatives: [{ match: '{}' }],
});
