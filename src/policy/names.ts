// Spelling help for the kernel names a policy uses: the canonical name a user
// probably meant. The names and numbers themselves are src/abi/numbers.ts.
import { BPF_COMMAND, type BpfCommand, CAPABILITY, type Capability } from '../abi/numbers.ts';

/** The kernel's second name for a command; the language accepts only the name in BPF_COMMAND. */
export const BPF_COMMAND_ALIASES: Record<string, BpfCommand> = { BPF_PROG_RUN: 'BPF_PROG_TEST_RUN' };

/** The canonical spelling a user probably meant ("sys_admin", "cap_sys_admin" -> CAP_SYS_ADMIN), or null. */
export function suggestCapability(name: string): Capability | null {
  const upper = name.toUpperCase().replace(/-/g, '_');
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  return CAPABILITY.has(full) ? full : null;
}

export function suggestBpfCommand(name: string): BpfCommand | null {
  const upper = name.toUpperCase().replace(/-/g, '_');
  const full = upper.startsWith('BPF_') ? upper : `BPF_${upper}`;
  if (full in BPF_COMMAND_ALIASES) return BPF_COMMAND_ALIASES[full] ?? null;
  return BPF_COMMAND.has(full) ? full : null;
}
