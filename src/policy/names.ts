// Names the kernel defines: capabilities (include/uapi/linux/capability.h) and
// bpf() commands (include/uapi/linux/bpf.h, enum bpf_cmd). The index of a name
// in its list is its number in the kernel ABI; the compiler uses these numbers.

/** Linux capabilities, in kernel order: CAPABILITIES[n] is capability number n. */
export const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** bpf() commands, in kernel order: BPF_COMMANDS[n] is command number n. */
export const BPF_COMMANDS = [
  'BPF_MAP_CREATE',
  'BPF_MAP_LOOKUP_ELEM',
  'BPF_MAP_UPDATE_ELEM',
  'BPF_MAP_DELETE_ELEM',
  'BPF_MAP_GET_NEXT_KEY',
  'BPF_PROG_LOAD',
  'BPF_OBJ_PIN',
  'BPF_OBJ_GET',
  'BPF_PROG_ATTACH',
  'BPF_PROG_DETACH',
  'BPF_PROG_TEST_RUN',
  'BPF_PROG_GET_NEXT_ID',
  'BPF_MAP_GET_NEXT_ID',
  'BPF_PROG_GET_FD_BY_ID',
  'BPF_MAP_GET_FD_BY_ID',
  'BPF_OBJ_GET_INFO_BY_FD',
  'BPF_PROG_QUERY',
  'BPF_RAW_TRACEPOINT_OPEN',
  'BPF_BTF_LOAD',
  'BPF_BTF_GET_FD_BY_ID',
  'BPF_TASK_FD_QUERY',
  'BPF_MAP_LOOKUP_AND_DELETE_ELEM',
  'BPF_MAP_FREEZE',
  'BPF_BTF_GET_NEXT_ID',
  'BPF_MAP_LOOKUP_BATCH',
  'BPF_MAP_LOOKUP_AND_DELETE_BATCH',
  'BPF_MAP_UPDATE_BATCH',
  'BPF_MAP_DELETE_BATCH',
  'BPF_LINK_CREATE',
  'BPF_LINK_UPDATE',
  'BPF_LINK_GET_FD_BY_ID',
  'BPF_LINK_GET_NEXT_ID',
  'BPF_ENABLE_STATS',
  'BPF_ITER_CREATE',
  'BPF_LINK_DETACH',
  'BPF_PROG_BIND_MAP',
  'BPF_TOKEN_CREATE',
] as const;
export type BpfCommand = (typeof BPF_COMMANDS)[number];

/** The kernel's second name for a command; the language accepts only the name in BPF_COMMANDS. */
export const BPF_COMMAND_ALIASES: Record<string, BpfCommand> = { BPF_PROG_RUN: 'BPF_PROG_TEST_RUN' };

export function capabilityNumber(name: string): number {
  return (CAPABILITIES as readonly string[]).indexOf(name);
}

export function bpfCommandNumber(name: string): number {
  return (BPF_COMMANDS as readonly string[]).indexOf(name);
}

/** The canonical spelling a user probably meant ("sys_admin", "cap_sys_admin" -> CAP_SYS_ADMIN), or null. */
export function suggestCapability(name: string): Capability | null {
  const upper = name.toUpperCase().replace(/-/g, '_');
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  return (CAPABILITIES as readonly string[]).includes(full) ? (full as Capability) : null;
}

export function suggestBpfCommand(name: string): BpfCommand | null {
  const upper = name.toUpperCase().replace(/-/g, '_');
  const full = upper.startsWith('BPF_') ? upper : `BPF_${upper}`;
  if (full in BPF_COMMAND_ALIASES) return BPF_COMMAND_ALIASES[full] ?? null;
  return (BPF_COMMANDS as readonly string[]).includes(full) ? (full as BpfCommand) : null;
}
