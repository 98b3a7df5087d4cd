// Self-protection's programs (bpf/lib/protect.h): one check per security hook,
// each defined once and attached one of two ways, as the rule kinds' hooks are:
// BPF-LSM (bg_protect_<name> on lsm/<hook>) where the bpf LSM is active, else
// fmod_ret (bg_protect_fmr_<name>) on the security_* function itself, which
// the kernel allows whether the bpf LSM is active or not. Which rung protects
// on a kernel, and which checks it cannot arm there (a security_* function
// inlined or missing: not in the kernel's BTF). Pure.
import type { Feature, FeatureSet } from './features.ts';
import type { AttachSpec } from './programs.ts';

export interface ProtectHook {
  /** bg_protect_<name>, bg_protect_fmr_<name> */
  name: string;
  /** the LSM hook (lsm/<hook>) */
  hook: string;
  /** the security_* function (fmod_ret/<function>) */
  function: string;
  /** what the check refuses to processes other than the daemon */
  guards: string;
}

/** Every check, in attach order (bpf/lib/protect.h). */
export const PROTECT_HOOKS: readonly ProtectHook[] = [
  {
    name: 'bpf',
    hook: 'bpf',
    function: 'security_bpf',
    guards: "detaching bpfgate's links, writing its maps",
  },
  { name: 'task_kill', hook: 'task_kill', function: 'security_task_kill', guards: 'signals to the daemon' },
  {
    name: 'ptrace',
    hook: 'ptrace_access_check',
    function: 'security_ptrace_access_check',
    guards: 'ptrace attach, process_vm_writev, /proc/<pid>/mem of the daemon',
  },
  { name: 'path_unlink', hook: 'path_unlink', function: 'security_path_unlink', guards: 'removing pins' },
  { name: 'path_rmdir', hook: 'path_rmdir', function: 'security_path_rmdir', guards: 'removing pin folders' },
  { name: 'path_rename', hook: 'path_rename', function: 'security_path_rename', guards: 'moving pins' },
  { name: 'sb_umount', hook: 'sb_umount', function: 'security_sb_umount', guards: 'unmounting bpffs' },
  {
    name: 'setrlimit',
    hook: 'task_setrlimit',
    function: 'security_task_setrlimit',
    guards: "the daemon's resource limits (prlimit)",
  },
  {
    name: 'setnice',
    hook: 'task_setnice',
    function: 'security_task_setnice',
    guards: "the daemon's nice value",
  },
  {
    name: 'setioprio',
    hook: 'task_setioprio',
    function: 'security_task_setioprio',
    guards: "the daemon's I/O priority",
  },
  {
    name: 'setscheduler',
    hook: 'task_setscheduler',
    function: 'security_task_setscheduler',
    guards: "the daemon's scheduling class",
  },
  {
    name: 'fcntl',
    hook: 'file_fcntl',
    function: 'security_file_fcntl',
    guards: 'F_SETOWN toward the daemon',
  },
  {
    name: 'sigiotask',
    hook: 'file_send_sigiotask',
    function: 'security_file_send_sigiotask',
    guards: 'SIGIO/SIGURG delivered to the daemon',
  },
  {
    name: 'file_open',
    hook: 'file_open',
    function: 'security_file_open',
    guards: "writing the daemon's oom_score_adj",
  },
  {
    name: 'inode_permission',
    hook: 'inode_permission',
    function: 'security_inode_permission',
    guards: "writing the daemon's cgroup files (cgroup.kill, cgroup.freeze, cgroup.procs...)",
  },
];

export type ProtectRung = 'lsm' | 'fmod_ret';

/** The program of a check on a rung. */
export function protectProgram(h: ProtectHook, rung: ProtectRung): string {
  return rung === 'lsm' ? `bg_protect_${h.name}` : `bg_protect_fmr_${h.name}`;
}

/** The security_* functions self-protection's fmod_ret programs attach to (the probe looks them up in BTF). */
export function protectFunctions(): string[] {
  return [...new Set(PROTECT_HOOKS.map((h) => h.function))].sort();
}

export interface ProtectProgram {
  program: string;
  attach: AttachSpec;
  guards: string;
}

export interface UnarmedCheck {
  program: string;
  function: string;
  guards: string;
  /** why it cannot be attached on this kernel */
  reason: string;
}

/** How self-protection is armed on a kernel: the rung, its programs, and the checks it cannot arm there. */
export interface ProtectPlan {
  rung: ProtectRung;
  programs: ProtectProgram[];
  unarmed: UnarmedCheck[];
}

/** Self-protection cannot be armed on this kernel: why, and what an operator can do. */
export interface ProtectRefusal {
  rung: null;
  reason: string;
  fix?: string;
}

const NOT_PROBED = (fn: string): Feature => ({
  available: false,
  reason: `${fn} was not probed (a feature set without self-protection's functions)`,
});

/**
 * The rung self-protection uses on a kernel with these features: BPF-LSM where
 * it is active (every check), else fmod_ret on each security_* function the
 * kernel's BTF has (the others named, with why); else a refusal saying why.
 */
export function protectPlan(f: FeatureSet): ProtectPlan | ProtectRefusal {
  if (f.lsm.available) {
    return {
      rung: 'lsm',
      programs: PROTECT_HOOKS.map((h) => ({
        program: protectProgram(h, 'lsm'),
        attach: { type: 'lsm', hook: h.hook },
        guards: h.guards,
      })),
      unarmed: [],
    };
  }
  const fix = f.lsm.fix ? { fix: f.lsm.fix } : {};
  if (!f.fmodRet.available) {
    return {
      rung: null,
      reason: `self-protection needs BPF-LSM or fmod_ret on the security_* functions; BPF-LSM: ${f.lsm.reason}; fmod_ret: ${f.fmodRet.reason}`,
      ...fix,
    };
  }
  if (!f.protectHooks) {
    return {
      rung: null,
      reason:
        "BPF-LSM is not active, and this feature set does not say which of self-protection's security_* functions are attachable (protectHooks: a probe of the kernel does)",
      ...fix,
    };
  }
  const programs: ProtectProgram[] = [];
  const unarmed: UnarmedCheck[] = [];
  for (const h of PROTECT_HOOKS) {
    const fn = f.protectHooks[h.function] ?? NOT_PROBED(h.function);
    const program = protectProgram(h, 'fmod_ret');
    if (fn.available)
      programs.push({ program, attach: { type: 'fmod_ret', function: h.function }, guards: h.guards });
    else unarmed.push({ program, function: h.function, guards: h.guards, reason: fn.reason });
  }
  if (programs.length === 0) {
    return {
      rung: null,
      reason: `self-protection: BPF-LSM is not active (${f.lsm.reason}) and none of the security_* functions it needs is attachable (${unarmed[0]?.reason ?? 'none'})`,
      ...fix,
    };
  }
  return { rung: 'fmod_ret', programs, unarmed };
}

/** One line: which rung protects, and what is not armed. */
export function protectSummary(p: ProtectPlan | ProtectRefusal): string {
  if (p.rung === null) return `not available: ${p.reason}`;
  const n = `${p.programs.length} of ${PROTECT_HOOKS.length} checks`;
  const via = p.rung === 'lsm' ? 'BPF-LSM' : 'fmod_ret on the security_* functions (BPF-LSM not active)';
  if (p.unarmed.length === 0) return `${via}, ${n}`;
  return `${via}, ${n}; NOT armed: ${p.unarmed.map((u) => `${u.guards} (${u.function}: ${u.reason})`).join('; ')}`;
}
