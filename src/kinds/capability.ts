// capability: capability checks (BPF-LSM capable). No other hook sees them.
// BPF side: bpf/kinds/capability.h.
import { CAPABILITY, type Capability } from '../abi/numbers.ts';
import { closest } from '../policy/text.ts';
import { nameOr, u32 } from './decode.ts';
import { ruleKey } from './keys.ts';
import { dedupe, defineKind, ENFORCING, wholeUnit } from './kind.ts';
import { OCSF_CLASSES } from './ocsf.ts';
import { list, obj, record, ref } from './schema.ts';

export interface CapabilityMatch {
  kind: 'capability';
  /** canonical names: CAP_SYS_ADMIN */
  capabilities: string[];
}

export interface CapabilityTarget {
  name: string;
  number: number;
}

/** The canonical spelling a user probably meant ("sys_admin", "CAP_SYSADMIN" -> CAP_SYS_ADMIN), or null. */
export function suggestCapability(name: string): Capability | null {
  const upper = name.toUpperCase().replace(/-/g, '_');
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  return CAPABILITY.has(full) ? full : (closest(full, CAPABILITY.names) as Capability | null);
}

const HOOKS = [{ program: 'bg_lsm_capable' }] as const;

export const capability = defineKind<CapabilityMatch, CapabilityTarget>('capability', 3, {
  actions: ENFORCING,
  match: obj(
    'capability match',
    'Which capability checks the rule matches.',
    { capabilities: list(ref('capability'), 'Capability names, e.g. CAP_SYS_ADMIN.') },
    ['capabilities'],
  ),
  schemaDefs: {
    capability: {
      schema: { enum: [...CAPABILITY.names], description: 'A Linux capability.' },
      code: 'UNKNOWN_CAPABILITY',
      unknown: { what: 'capability', suggest: suggestCapability },
    },
  },
  normalize: (r, m, path) => {
    const capabilities = dedupe((m.capabilities as string[] | undefined) ?? []);
    r.needTargets(capabilities.length, 'capabilities', path);
    return { kind: 'capability', capabilities };
  },
  targets: (m) => m.capabilities,
  budget: 'rules',
  entries: (m) => m.capabilities.length,

  hooks: HOOKS,
  keys: (m, ctx) => m.capabilities.map((c) => ruleKey(ctx, 3, 0, CAPABILITY.number(c))),
  units: () => wholeUnit('capability', HOOKS),

  target: record(['name', 'number'], {
    name: { type: 'string', pattern: '^CAP_[A-Z0-9_]+$' },
    number: { type: 'integer', minimum: 0, maximum: 63 },
  }),
  decode: (r) => ({ name: nameOr(CAPABILITY, u32(r.args[0]), 'CAP_'), number: u32(r.args[0]) }),
  describe: (t) => t.name,
  ocsf: (e) => ({
    cls: OCSF_CLASSES.kernel,
    activity: [4, 'Invoke'],
    fields: { kernel: { name: e.target.name, type_id: 99, type: 'Capability' } },
  }),

  representatives: [{ match: '{ capabilities: [CAP_SYS_ADMIN] }' }],
});
