// uprobe: a user-space function entered (or returned from) in a binary or a
// library, by symbol, with what the rule captures: the returned line of
// readline, the result and the user of pam_authenticate. One program serves
// every uprobe rule: the loader attaches it once per rule on the binary's
// inode (hard links and bind mounts are the same inode; a copy is not), with
// the rule id, the capture and the direction in the cookie. The compiler
// never reads the binary: the loader resolves the symbol's offset and checks
// the digest. BPF side: bpf/kinds/uprobe.h.
import { Numbered } from '../abi/numbers.ts';
import type { UprobeAttach } from '../abi/programs.ts';
import { ruleKey } from './keys.ts';
import { defineKind, wholeUnit } from './kind.ts';
import { OCSF_CLASSES } from './ocsf.ts';
import { obj, record, string } from './schema.ts';

/** What a rule captures, and its number in the attach cookie (enum bg_uprobe_capture). */
export const CAPTURE = new Numbered('uprobe capture', {
  none: 0,
  'returned-string': 1,
  'returned-value': 2,
  pam: 3,
});
export type Capture = (typeof CAPTURE.names)[number];
const WRITTEN_CAPTURES = CAPTURE.names.filter((c) => c !== 'none');

/** bytes of a captured string, NUL included (BG_UPROBE_STR_MAX) */
export const CAPTURE_MAX = 256;

export const SYMBOL_PATTERN = '^[A-Za-z_][A-Za-z0-9_.$@]*$';
export const SHA256_PATTERN = '^[0-9a-fA-F]{64}$';

export interface UprobeMatch {
  kind: 'uprobe';
  binary: string;
  symbol: string;
  capture: Capture;
  sha256?: string;
}

export interface UprobeTarget {
  binary: string;
  symbol: string;
  capture: Capture;
  /** the first argument (entry) or the returned value (return), hex */
  value: string;
  /** the captured string: the returned line, the PAM user (at most 255 bytes) */
  captured?: string;
  /** pam: the result of pam_authenticate (0 is PAM_SUCCESS) */
  result?: number;
  /** the file the probe is bound to: its device (major:minor) and inode, which tell one copy of a binary from another */
  device?: string;
  inode?: string;
}

const HOOKS = [{ program: 'bg_uprobe' }] as const;

function attach(m: UprobeMatch, ruleId: number, retprobe: boolean, capture: Capture): UprobeAttach {
  return {
    type: 'uprobe',
    binary: m.binary,
    symbol: m.symbol,
    retprobe,
    capture: CAPTURE.number(capture),
    cookie: ruleId,
    ...(m.sha256 ? { sha256: m.sha256 } : {}),
  };
}

export const uprobe = defineKind<UprobeMatch, UprobeTarget>('uprobe', 15, {
  actions: ['audit', 'kill'],
  match: obj(
    'uprobe match',
    "A user-space function of a binary or library, by symbol: its entries are reported (audit) or the process is killed once it entered the function (kill). The rule covers the file's inode: every path and hard link of it, not a copy.",
    {
      binary: {
        type: 'string',
        description: 'Absolute path of the ELF binary or shared library, e.g. /usr/bin/bash.',
      },
      symbol: {
        type: 'string',
        pattern: SYMBOL_PATTERN,
        description: 'Function symbol in the ELF symbol tables (.symtab or .dynsym), e.g. readline.',
      },
      capture: {
        enum: WRITTEN_CAPTURES,
        description:
          "What to capture. returned-string: the returned char * (readline's line), at most 255 bytes, reported when the function returns; returned-value: the returned value; pam: pam_authenticate's result and the PAM handle's user (at most 255 bytes), reported when it returns. Omitted: the entry, with the first two arguments as numbers.",
      },
      sha256: {
        type: 'string',
        pattern: SHA256_PATTERN,
        description: "The file's SHA-256: bpfgate refuses to attach when the binary differs.",
      },
    },
    ['binary', 'symbol'],
  ),
  patternHints: {
    [SYMBOL_PATTERN]: 'a function symbol such as readline',
    [SHA256_PATTERN]: 'a SHA-256 digest: 64 hexadecimal digits',
  },
  normalize: (r, m, path) => {
    const [binary = ''] = r.paths([m.binary], 'path', [...path, 'binary']);
    return {
      kind: 'uprobe',
      binary,
      symbol: m.symbol as string,
      capture: (m.capture as Capture | undefined) ?? 'none',
      ...(typeof m.sha256 === 'string' ? { sha256: m.sha256.toLowerCase() } : {}),
    };
  },
  targets: (m) => [`${m.binary}:${m.symbol}:${m.capture}`],
  budget: 'rules',
  entries: () => 1,

  hooks: HOOKS,
  // the rule id is the attach cookie, which the program looks up
  keys: (_m, ctx) => [ruleKey(ctx, 15, 0, ctx.ruleId)],
  units: () => wholeUnit('uprobe', HOOKS),
  attachments: (m, ruleId) =>
    m.capture === 'pam'
      ? [attach(m, ruleId, false, 'pam'), attach(m, ruleId, true, 'pam')]
      : [attach(m, ruleId, m.capture !== 'none', m.capture)],
  coverageNote:
    'a uprobe sees the function in every process that runs this file (its inode), in scope or not; a copy of the binary at another inode is not covered',

  target: record(['binary', 'symbol', 'capture', 'value'], {
    binary: string,
    symbol: string,
    capture: { enum: [...CAPTURE.names] },
    value: { type: 'string', pattern: '^0x[0-9a-f]+$' },
    captured: { type: 'string', maxLength: CAPTURE_MAX - 1 },
    result: { type: 'integer' },
    device: { type: 'string', pattern: '^[0-9]+:[0-9]+$' },
    inode: { type: 'string', pattern: '^[0-9]+$' },
  }),
  decode: (r, ctx) => {
    const a = ctx.attachment?.(ctx.ruleId);
    const file = ctx.inode?.(ctx.ruleId);
    const capture = CAPTURE.name(Number(r.args[3])) ?? 'none';
    const value = r.args[0];
    return {
      binary: a?.type === 'uprobe' ? a.binary : '',
      symbol: a?.type === 'uprobe' ? a.symbol : '',
      capture,
      value: `0x${value.toString(16)}`,
      ...(capture === 'returned-string' || capture === 'pam' ? { captured: r.path } : {}),
      ...(capture === 'pam' ? { result: Number(BigInt.asIntN(32, value)) } : {}),
      ...(file ? { device: file.device, inode: file.inode } : {}),
    };
  },
  describe: (t) =>
    t.capture === 'pam'
      ? `${t.symbol}() for user ${t.captured || '(unknown)'}: ${t.result === 0 ? 'success' : `failed (${t.result})`}`
      : t.captured !== undefined
        ? `${t.symbol}() returned ${JSON.stringify(t.captured)}`
        : `${t.binary}:${t.symbol}()`,
  ocsf: (e) => {
    const t = e.target;
    if (t.capture === 'pam') {
      const ok = t.result === 0;
      return {
        cls: OCSF_CLASSES.authentication,
        activity: [1, 'Logon'],
        fields: {
          user: { name: t.captured || 'unknown' },
          logon_process: { pid: e.process.tgid, name: e.process.comm },
          service: { name: 'pam' },
          // the status is the authentication's result; what bpfgate did is in disposition and unmapped.bpfgate
          status_id: ok ? 1 : 2,
          status: ok ? 'Success' : 'Failure',
          status_detail: `pam_authenticate returned ${t.result}${ok ? ' (PAM_SUCCESS)' : ''}`,
        },
      };
    }
    if (t.capture === 'returned-string') {
      return {
        cls: OCSF_CLASSES.script,
        activity: [1, 'Execute'],
        fields: {
          script: {
            type_id: 6,
            type: 'Unix Shell',
            script_content: {
              value: t.captured ?? '',
              is_truncated: (t.captured?.length ?? 0) >= CAPTURE_MAX - 1,
            },
            file: {
              name: t.binary.split('/').pop() || t.binary,
              path: t.binary,
              type_id: 1,
              // the file system's id of the file (the inode) and its volume (the device)
              ...(t.inode ? { uid: t.inode, volume: t.device } : {}),
            },
          },
        },
      };
    }
    return {
      cls: OCSF_CLASSES.process,
      activity: [99, 'Function Call'],
      fields: { process: { pid: e.process.tgid, name: e.process.comm } },
    };
  },

  representatives: [{ match: '{ binary: /usr/bin/bash, symbol: readline, capture: returned-string }' }],
});
