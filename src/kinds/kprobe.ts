// kprobe: calls of a kernel function, reported (audit only). One program
// serves every kprobe rule: it is attached once per rule, with the rule id as
// the attach cookie. BPF side: bpf/kinds/kprobe.h.

import { ruleKey } from './keys.ts';
import { defineKind, wholeUnit } from './kind.ts';
import { OCSF_CLASSES } from './ocsf.ts';
import { obj, record, string } from './schema.ts';

export const KPROBE_PATTERN = '^[A-Za-z_][A-Za-z0-9_.]*$';

export interface KprobeMatch {
  kind: 'kprobe';
  function: string;
}

export interface KprobeTarget {
  function: string;
  /** the function's first arguments, hex */
  args: string[];
}

const HOOKS = [{ program: 'bg_kprobe' }] as const;

export const kprobe = defineKind<KprobeMatch, KprobeTarget>('kprobe', 14, {
  actions: ['audit'],
  match: obj(
    'kprobe match',
    'A kernel function whose calls are reported (audit only).',
    {
      function: {
        type: 'string',
        pattern: KPROBE_PATTERN,
        description: 'Kernel function name, e.g. commit_creds.',
      },
    },
    ['function'],
  ),
  patternHints: { [KPROBE_PATTERN]: 'a kernel function name such as commit_creds' },
  normalize: (_r, m) => ({ kind: 'kprobe', function: m.function as string }),
  targets: (m) => [m.function],
  budget: 'rules',
  entries: () => 1,

  hooks: HOOKS,
  // the rule id is the attach cookie, which the program looks up
  keys: (_m, ctx) => [ruleKey(ctx, 14, 0, ctx.ruleId)],
  units: () => wholeUnit('kprobe', HOOKS),
  attachments: (m, ruleId) => [{ type: 'kprobe', function: m.function, cookie: ruleId }],

  target: record(['function', 'args'], {
    function: string,
    args: { type: 'array', maxItems: 4, items: { type: 'string', pattern: '^0x[0-9a-f]+$' } },
  }),
  // the record leaves the function empty: the plan knows it from the rule
  decode: (r, ctx) => {
    const a = ctx.attachment?.(ctx.ruleId);
    return {
      function: r.path || (a?.type === 'kprobe' ? a.function : ''),
      args: r.args.map((v) => `0x${v.toString(16)}`),
    };
  },
  describe: (t) => `${t.function}()`,
  ocsf: (e) => ({
    cls: OCSF_CLASSES.kernel,
    activity: [4, 'Invoke'],
    fields: { kernel: { name: e.target.function, type_id: 99, type: 'Kernel Function' } },
  }),

  representatives: [{ match: '{ function: commit_creds }' }],
});
