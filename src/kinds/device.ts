// device: device node access by type, major and minor (the cgroup device
// hook, one lookup per access bit). BPF side: bpf/kinds/device.h.
import { ANY } from '../abi/layout.ts';
import { DEVICE_ACCESS_BIT, DEVICE_TYPE, Numbered } from '../abi/numbers.ts';
import { u32 } from './decode.ts';
import { ruleKey } from './keys.ts';
import { cross, dedupe, defineKind, ENFORCING, type Raw, wholeUnit } from './kind.ts';
import { OCSF_CLASSES } from './ocsf.ts';
import { list, obj, oneOfNames, record, ref, u32 as u32Schema } from './schema.ts';

/** The kinds of access, and their op byte (BG_OP_DEV_*). */
export const DEVICE_OPS = new Numbered('device access', { read: 1, write: 2, mknod: 3 });
export type DeviceAccess = (typeof DEVICE_OPS.names)[number];

/** Highest device major and minor numbers (12 and 20 bits). */
export const MAX_DEVICE_MAJOR = 4095;
export const MAX_DEVICE_MINOR = 1048575;

export interface DeviceSelector {
  type: 'char' | 'block';
  /** null = any ("*") */
  major: number | null;
  minor: number | null;
}

export interface DeviceMatch {
  kind: 'device';
  devices: DeviceSelector[];
  access: DeviceAccess[];
}

export interface DeviceTarget {
  type: 'char' | 'block';
  major: number;
  minor: number;
  access: string[];
}

const HOOKS = [{ program: 'bg_cg_dev' }] as const;

const number = (maximum: number, what: string) => ({
  type: ['integer', 'string'],
  minimum: 0,
  maximum,
  pattern: '^\\*$',
  description: `${what} number, or "*" for any. Default: "*".`,
});

export const device = defineKind<DeviceMatch, DeviceTarget>('device', 12, {
  ops: DEVICE_OPS,
  actions: ENFORCING,
  match: obj(
    'device match',
    'Which device node accesses the rule matches.',
    {
      devices: list(ref('device'), 'Device selectors.'),
      access: oneOfNames(DEVICE_OPS.names, 'Kinds of access. Omitted: all three.'),
    },
    ['devices'],
  ),
  schemaDefs: {
    device: {
      schema: obj(
        'device',
        'A device node selector.',
        {
          type: { enum: ['char', 'block'], description: 'Character or block device.' },
          major: number(MAX_DEVICE_MAJOR, 'Major'),
          minor: number(MAX_DEVICE_MINOR, 'Minor'),
        },
        ['type'],
      ),
    },
  },
  patternHints: { '^\\*$': 'a number or "*"' },
  normalize: (r, m, path) => {
    // an entry that is not an object was reported by the schema check: never read as a selector
    const entries = ((m.devices as unknown[] | undefined) ?? []).filter(
      (d): d is Raw => typeof d === 'object' && d !== null,
    );
    const devices: DeviceSelector[] = entries.map((d) => ({
      type: d.type as 'char' | 'block',
      major: typeof d.major === 'number' ? d.major : null,
      minor: typeof d.minor === 'number' ? d.minor : null,
    }));
    r.needTargets(devices.length, 'devices', path);
    // the kernel looks up (major, minor), (major, *), (*, *): a fixed minor under any major has no key
    devices.forEach((d, i) => {
      if (d.major === null && d.minor !== null) {
        r.report(
          'INVALID_VALUE',
          'a device with major "*" must have minor "*" too (any major with one minor cannot be matched)',
          [...path, 'devices', String(i), 'minor'],
        );
      }
    });
    return {
      kind: 'device',
      devices: dedupe(devices, (d) => `${d.type}:${d.major}:${d.minor}`),
      access: r.qualifier(m, 'access', DEVICE_OPS.names, path),
    };
  },
  targets: (m) =>
    cross(
      m.devices.map((d) => `${d.type}:${d.major ?? '*'}:${d.minor ?? '*'}`),
      m.access,
    ),
  budget: 'rules',
  entries: (m) => m.devices.length * m.access.length,

  hooks: HOOKS,
  keys: (m, ctx) =>
    m.access.flatMap((acc) =>
      m.devices.map((d) => {
        if (d.major === null && d.minor !== null) {
          throw new RangeError(`device ${d.type} *:${d.minor}: a wildcard major needs a wildcard minor`);
        }
        return ruleKey(
          ctx,
          12,
          DEVICE_OPS.number(acc),
          DEVICE_TYPE.number(d.type),
          d.major ?? ANY,
          d.minor ?? ANY,
        );
      }),
    ),
  units: () => wholeUnit('device', HOOKS),

  target: record(['type', 'major', 'minor', 'access'], {
    type: { enum: ['char', 'block'] },
    major: u32Schema,
    minor: u32Schema,
    access: { type: 'array', minItems: 1, items: { enum: [...DEVICE_OPS.names, 'unknown'] } },
  }),
  decode: (r) => {
    const [a0, a1, a2, a3] = r.args;
    const access: string[] = DEVICE_ACCESS_BIT.bits(u32(a3));
    if (access.length === 0) access.push(DEVICE_OPS.name(r.op) ?? 'unknown');
    const type = DEVICE_TYPE.name(u32(a0)) === 'block' ? 'block' : 'char';
    return { type, major: u32(a1), minor: u32(a2), access };
  },
  describe: (t) => `${t.type} ${t.major}:${t.minor} ${t.access.join(',')}`,
  ocsf: (e) => {
    const access = e.target.access;
    const activity: [number, string] = access.includes('mknod')
      ? [1, 'Create']
      : access.includes('write')
        ? [99, 'Write']
        : [2, 'Read'];
    return {
      cls: OCSF_CLASSES.kernel,
      activity,
      fields: {
        kernel: { name: `${e.target.type} ${e.target.major}:${e.target.minor}`, type_id: 99, type: 'Device' },
      },
    };
  },

  representatives: [{ match: '{ devices: [{ type: char, major: 1, minor: 1 }] }' }],
});
