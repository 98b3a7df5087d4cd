// bg_rules (HASH) keys: every kind whose target is numeric.
// Grammar, 16 bytes, little-endian:
//
//   rule_key := gen:u8 slot:u8 kind:u8 op:u8 a:u32 b:u32 c:u32
//
//   kind         op                      a                       b                 c
//   capability   0                       capability number       0                 0
//   module       BG_OP_MODULE_FILE|DATA  BG_ANY                  0                 0
//   bpf          0                       command or BG_ANY       0                 0
//   ptrace       BG_OP_PTRACE_*          0                       0                 0
//   mount        BG_OP_*MOUNT*           fnv1a32(fstype)|BG_ANY  0                 0
//   setuid       BG_OP_SETUID_*          0                       0                 0
//   socket       0                       AF_* or BG_ANY          SOCK_* or BG_ANY  0
//   device       BG_OP_DEV_*             'c' (0x63) / 'b' (0x62) major or BG_ANY   minor or BG_ANY
//   kprobe       0                       rule id (attach cookie) 0                 0
//
// The kernel looks up the exact key, then BG_ANY in the last wildcardable
// field, then in both: a wildcard may only stand in a trailing position
// (socket: family BG_ANY needs type BG_ANY; device: major BG_ANY needs minor
// BG_ANY). The compiler expands or rejects anything else.
import { Size } from '../layout.ts';
import { ByteWriter } from './bytes.ts';

export interface RuleKey {
  gen: number;
  slot: number;
  kind: number;
  op: number;
  a: number;
  b: number;
  c: number;
}

export function encodeRuleKey(k: RuleKey): string {
  return new ByteWriter(Size.ruleKey)
    .u8(k.gen)
    .u8(k.slot)
    .u8(k.kind)
    .u8(k.op)
    .u32(k.a)
    .u32(k.b)
    .u32(k.c)
    .hex();
}
