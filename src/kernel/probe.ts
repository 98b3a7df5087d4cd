// The kernel feature probe behind `bpfgate doctor` and `bpfgate compile`
// without --features: what THIS kernel can do, found by loading bpfgate's own
// programs from bpf/build/bpfgate.bpf.o, one family representative at a time
// (open, load only that program, close: the load also creates the object's
// maps, which go away with it). Nothing enforcing is attached: the only attach
// is the kprobe's, with empty rule maps, detached at once. See docs/doctor.md.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getSystemErrorMessage } from 'node:util';
import { CGROUP_HOOKS, type CgroupHook, type Feature, type FeatureSet } from '../abi/features.ts';
import { cgroupProgram, PROGRAMS, type ProgramInfo, type ProgramName } from '../abi/programs.ts';
import { BpfgateError, PrivilegeError } from '../errors.ts';
import {
  BpfObject,
  isBpffs,
  KernelError,
  libbpfVersion,
  NativeBindingError,
  probeHelper,
  probeProgType,
} from './binding.ts';
import { findCgroup2Mount } from './cgroups.ts';

/** Where `make -C bpf` (scripts/setup.sh) puts bpfgate's object. */
export const DEFAULT_OBJECT_PATH = fileURLToPath(new URL('../../bpf/build/bpfgate.bpf.o', import.meta.url));

export const BTF_PATH = '/sys/kernel/btf/vmlinux';
export const BPFFS_PATH = '/sys/fs/bpf';
export const SECURITYFS_PATH = '/sys/kernel/security';
/**
 * Where the probe's kprobe sits for an instant: a function every kernel with
 * BPF has and nothing calls in normal operation (only BPF_PROG_TEST_RUN of
 * tracing programs does). Never a hot path: patching one while the machine
 * runs it is the riskiest thing a probe could do (a guest under an exec storm
 * crashed when the probe used security_file_open).
 */
export const KPROBE_PROBE_FUNCTION = 'bpf_fentry_test1';
const KPROBE_PMU = '/sys/bus/event_source/devices/kprobe';

export interface ProbeOptions {
  /** bpfgate's BPF object (default: bpf/build/bpfgate.bpf.o of this checkout) */
  objectPath?: string;
}

/** bpfgate's object is missing or unreadable, or the libbpf addon is not built. */
export class ProbeSetupError extends BpfgateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(
      'PROBE_SETUP',
      `${message}: run scripts/setup.sh (it builds the BPF object and the addon)`,
      options,
    );
  }
}

/** What one program load (or attach) did. */
interface Outcome {
  ok: boolean;
  /** e.g. "EPERM (Operation not permitted; refused before verification: no verifier log)" */
  text: string;
  /** refused for want of privilege (EPERM) */
  privilege: boolean;
}

const OK: Outcome = { ok: true, text: 'ok', privilege: false };

/** The last line of the verifier's log, when libbpf printed one. */
function verifierVerdict(log: string): string | null {
  const begin = log.indexOf('-- BEGIN PROG LOAD LOG --');
  if (begin < 0) return null;
  const end = log.indexOf('-- END PROG LOAD LOG --', begin);
  const lines = log
    .slice(begin, end < 0 ? undefined : end)
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('processed ') && !l.startsWith('verification time'));
  const last = lines.at(-1);
  if (!last) return null;
  return last.length > 120 ? `${last.slice(0, 117)}...` : last;
}

function failure(err: unknown): Outcome {
  if (err instanceof KernelError) {
    const message = getSystemErrorMessage(-err.errno);
    const words = message.charAt(0).toUpperCase() + message.slice(1);
    const verdict = verifierVerdict(err.libbpfLog);
    let detail = words;
    if (verdict) detail += `; verifier: ${verdict}`;
    else if (err.op === 'load' && err.errno === 1) detail += '; refused before verification: no verifier log';
    return { ok: false, text: `${err.errnoName} (${detail})`, privilege: err.privilege };
  }
  return { ok: false, text: err instanceof Error ? err.message : String(err), privilege: false };
}

/** The SEC() name of a program, for reasons: "cgroup/sock_create", "lsm/file_open". */
function sectionOf(name: ProgramName): string {
  const a = PROGRAMS[name].attach;
  switch (a.type) {
    case 'lsm':
      return `lsm/${a.hook}`;
    case 'cgroup':
      return `cgroup/${(PROGRAMS[name] as ProgramInfo).hook ?? a.attachType}`;
    case 'tp_btf':
      return `tp_btf/${a.event}`;
    case 'raw_tracepoint':
      return `raw_tracepoint/${a.event}`;
    case 'kprobe':
      return 'kprobe';
    case 'tcx':
      return 'tc';
    case 'xdp':
      return 'xdp';
  }
}

class Prober {
  readonly objectPath: string;
  /** every load tried, for the privilege verdict */
  readonly loads: Outcome[] = [];

  constructor(objectPath: string) {
    this.objectPath = objectPath;
  }

  open(): BpfObject {
    try {
      return BpfObject.open(this.objectPath);
    } catch (err) {
      throw new ProbeSetupError(`cannot open bpfgate's BPF object ${this.objectPath}`, { cause: err });
    }
  }

  /** Load one program of the object alone; `after` runs on the loaded object (an attach). */
  load(program: ProgramName, after?: (obj: BpfObject) => Outcome): { load: Outcome; after?: Outcome } {
    const obj = this.open();
    try {
      let load: Outcome;
      try {
        obj.loadOnly([program]);
        obj.load();
        load = OK;
      } catch (err) {
        load = failure(err);
      }
      this.loads.push(load);
      if (!load.ok || !after) return { load };
      return { load, after: after(obj) };
    } finally {
      obj.close();
    }
  }

  loadFeature(program: ProgramName): Feature {
    const { load } = this.load(program);
    const what = `${sectionOf(program)} (${program})`;
    return load.ok
      ? { available: true, reason: `${what} loads` }
      : { available: false, reason: `${what} load: ${load.text}` };
  }
}

function btf(): Feature {
  return existsSync(BTF_PATH)
    ? { available: true, reason: `${BTF_PATH} present` }
    : { available: false, reason: `${BTF_PATH} missing: no CO-RE (kernel without CONFIG_DEBUG_INFO_BTF)` };
}

function bpffs(): Feature {
  return isBpffs(BPFFS_PATH)
    ? { available: true, reason: `bpf filesystem mounted at ${BPFFS_PATH}` }
    : {
        available: false,
        reason: `no bpf filesystem at ${BPFFS_PATH} (pins need it: mount -t bpf bpf ${BPFFS_PATH})`,
      };
}

function cgroup2(): FeatureSet['cgroup2'] {
  let mount: string | null;
  try {
    mount = findCgroup2Mount();
  } catch (err) {
    return { available: false, reason: `cannot read /proc/self/mountinfo: ${(err as Error).message}` };
  }
  if (!mount) return { available: false, reason: 'no cgroup2 mount in /proc/self/mountinfo' };
  return { available: true, reason: `cgroup2 mounted at ${mount}`, mount };
}

/** The active LSMs, mounting securityfs first when it is not mounted (and saying so). */
function activeLsms(): { list: string[] | null; note: string } {
  const file = `${SECURITYFS_PATH}/lsm`;
  let note = '';
  if (!existsSync(file)) {
    try {
      execFileSync('mount', ['-t', 'securityfs', 'securityfs', SECURITYFS_PATH], { stdio: 'pipe' });
      note = `mounted securityfs at ${SECURITYFS_PATH} to read it; `;
    } catch (err) {
      const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
      return {
        list: null,
        note: `securityfs is not mounted and mounting it at ${SECURITYFS_PATH} failed (${stderr || (err as Error).message})`,
      };
    }
  }
  try {
    const list = readFileSync(file, 'utf8').trim().split(',').filter(Boolean);
    return { list, note };
  } catch (err) {
    return { list: null, note: `${note}cannot read ${file}: ${(err as Error).message}` };
  }
}

function lsmFeatures(p: Prober): { lsm: Feature; lsmDPath: Feature } {
  const { list, note } = activeLsms();
  const noLsm = (reason: string, short: string) => ({
    lsm: { available: false, reason },
    lsmDPath: { available: false, reason: `no BPF-LSM: ${short}` },
  });
  if (!list) return noLsm(`active LSMs unknown: ${note}`, 'active LSMs unknown');
  const active = `${note}active LSMs: ${list.join(',')}`;
  if (!list.includes('bpf')) {
    return noLsm(
      `${active} (bpf is not among them: lsm/ programs would never run)`,
      'bpf is not an active LSM',
    );
  }
  // An LSM program without bpf_d_path decides whether BPF-LSM works at all;
  // the file and exec hooks need bpf_d_path on top.
  const base = p.load('bg_lsm_capable').load;
  if (!base.ok) return noLsm(`${active}; lsm/capable load: ${base.text}`, `lsm/capable load: ${base.text}`);
  const lsm = {
    available: true,
    reason: `${active}; lsm/capable loads (not attached: it would act on the whole machine)`,
  };
  const dpath: [ProgramName, Outcome][] = (['bg_lsm_file_open', 'bg_lsm_bprm_check'] as const).map((n) => [
    n,
    p.load(n).load,
  ]);
  const bad = dpath.filter(([, o]) => !o.ok);
  const lsmDPath =
    bad.length === 0
      ? {
          available: true,
          reason: `lsm/file_open and lsm/bprm_check_security load with bpf_d_path`,
        }
      : {
          available: false,
          reason: bad.map(([n, o]) => `${sectionOf(n)} (bpf_d_path) load: ${o.text}`).join('; '),
        };
  return { lsm, lsmDPath };
}

function kprobes(p: Prober): Feature {
  const fn = KPROBE_PROBE_FUNCTION;
  const r = p.load('bg_kprobe', (obj) => {
    try {
      // with the rule maps empty (just created by this load) the program reports nothing
      obj.attachKprobe('bg_kprobe', fn, { cookie: 0 }).destroy();
      return OK;
    } catch (err) {
      return failure(err);
    }
  });
  if (!r.load.ok) return { available: false, reason: `kprobe (bg_kprobe) load: ${r.load.text}` };
  if (!r.after?.ok) {
    const pmu = existsSync(KPROBE_PMU)
      ? ''
      : `; no ${KPROBE_PMU}: kprobes not built in (CONFIG_KPROBES unset)`;
    return { available: false, reason: `kprobe loads; attach kprobe ${fn}: ${r.after?.text}${pmu}` };
  }
  return { available: true, reason: `kprobe loads; attach kprobe ${fn} ok (detached at once)` };
}

/** tcx links came with Linux 6.6; the tc programs must load too. Nothing is attached. */
function tcx(p: Prober, kernelRelease: string): Feature {
  const load = p.loadFeature('bg_tc_ingress');
  if (!load.available) return load;
  const [major = 0, minor = 0] = kernelRelease.split(/[.-]/).map(Number);
  if (major < 6 || (major === 6 && minor < 6))
    return {
      available: false,
      reason: `${load.reason}; tcx links need Linux 6.6 (this is ${kernelRelease})`,
    };
  return { available: true, reason: `${load.reason}; tcx links (Linux ${major}.${minor}; not attached)` };
}

/** The XDP program loads; generic mode attaches on any interface, native where the driver has it. */
function xdp(p: Prober): Feature {
  const load = p.loadFeature('bg_xdp_ingress');
  return load.available
    ? {
        available: true,
        reason: `${load.reason}; generic mode on any interface, native where the driver has it`,
      }
    : load;
}

function fentry(): Feature {
  // bpfgate has no fentry program (the ladder never uses one); libbpf's probe
  // of the tracing program type loads a fentry program against a bogus BTF id
  // and counts the kernel's "not a function" answer as support.
  let ok: boolean;
  try {
    ok = probeProgType('tracing');
  } catch (err) {
    return { available: false, reason: `libbpf's fentry probe failed: ${failure(err).text}` };
  }
  const how = "libbpf's program-type probe (a fentry load; bpfgate has no fentry program)";
  return ok
    ? { available: true, reason: `${how}: the kernel accepts fentry programs` }
    : { available: false, reason: `${how}: refused` };
}

function tracepoints(p: Prober): { tracepoints: Feature; execLoads: Outcome } {
  const exec = p.load('bg_tp_exec').load;
  const sys = p.load('bg_tp_sys_enter').load;
  if (exec.ok && sys.ok) {
    return {
      tracepoints: {
        available: true,
        reason:
          'tp_btf/sched_process_exec and raw_tracepoint/sys_enter load (not attached: they would see every process)',
      },
      execLoads: exec,
    };
  }
  const bad = [
    ...(exec.ok ? [] : [`tp_btf/sched_process_exec load: ${exec.text}`]),
    ...(sys.ok ? [] : [`raw_tracepoint/sys_enter load: ${sys.text}`]),
  ];
  return { tracepoints: { available: false, reason: bad.join('; ') }, execLoads: exec };
}

function sendSignal(execLoads: Outcome): Feature {
  // libbpf cannot probe helpers for tracing (tp_btf) programs (EOPNOTSUPP), so:
  // its helper probe for raw tracepoints, and bg_tp_exec, which calls
  // bpf_send_signal and passed the verifier (or not) just above.
  let helper: Outcome;
  try {
    helper = probeHelper('raw_tracepoint', 'send_signal')
      ? OK
      : { ok: false, text: 'unknown to raw_tracepoint programs', privilege: false };
  } catch (err) {
    helper = failure(err);
  }
  if (!helper.ok) return { available: false, reason: `bpf_send_signal helper probe: ${helper.text}` };
  if (!execLoads.ok) {
    return {
      available: false,
      reason: `bpf_send_signal known to raw tracepoints, but tp_btf/sched_process_exec (which calls it) does not load: ${execLoads.text}`,
    };
  }
  return {
    available: true,
    reason: 'bpf_send_signal: helper probe ok; tp_btf/sched_process_exec, which calls it, loads',
  };
}

function privilegeCheck(p: Prober): void {
  if (p.loads.length === 0 || !p.loads.every((o) => !o.ok && o.privilege)) return;
  const uid = process.geteuid?.() ?? -1;
  throw new PrivilegeError(
    `probing the kernel needs root (CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN): every program load was refused with EPERM (running as uid ${uid})`,
  );
}

/**
 * Probe this kernel. Throws PrivilegeError when every load is refused with
 * EPERM (not root), ProbeSetupError when the object or the addon is missing.
 */
export async function probeFeatures(opts: ProbeOptions = {}): Promise<FeatureSet> {
  const objectPath = opts.objectPath ?? DEFAULT_OBJECT_PATH;
  if (!existsSync(objectPath)) throw new ProbeSetupError(`bpfgate's BPF object ${objectPath} is missing`);
  try {
    libbpfVersion();
  } catch (err) {
    if (err instanceof NativeBindingError) {
      throw new ProbeSetupError(`the libbpf binding ${err.path} is not built or does not load`, {
        cause: err,
      });
    }
    throw err;
  }
  const p = new Prober(objectPath);

  const cgroupHooks = Object.fromEntries(
    CGROUP_HOOKS.map((h) => [h, p.loadFeature(cgroupProgram(h))]),
  ) as Record<CgroupHook, Feature>;
  const tp = tracepoints(p);
  privilegeCheck(p);

  const kernelRelease = release();
  return {
    name: `host ${kernelRelease}`,
    kernelRelease,
    btf: btf(),
    bpffs: bpffs(),
    cgroup2: cgroup2(),
    ...lsmFeatures(p),
    kprobes: kprobes(p),
    fentry: fentry(),
    tracepoints: tp.tracepoints,
    sendSignal: sendSignal(tp.execLoads),
    cgroupHooks,
    tcx: tcx(p, kernelRelease),
    xdp: xdp(p),
  };
}
