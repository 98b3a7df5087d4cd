// bg_rule_val: the value of every rule entry (bg_path_rules, bg_rules,
// bg_net_rules). Grammar, 8 bytes, little-endian:
//
//   rule_val := rule_id:u32    index into plan.rules
//               action:u8      bg_action as achieved with the serving program's
//                              mechanism (1 allow, 2 audit, 3 block, 4 kill)
//               flags:u8       BG_VAL_F_DRYRUN (0x01) in audit mode, BG_VAL_F_EXC_EUID
//                              (0x02) when the rule excepts effective uids
//               pad:u16        0
import { Size } from '../layout.ts';
import { ByteWriter } from './bytes.ts';

export function encodeRuleVal(ruleId: number, action: number, flags: number): string {
  return new ByteWriter(Size.ruleVal).u32(ruleId).u8(action).u8(flags).u16(0).hex();
}
