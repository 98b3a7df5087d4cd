// The kernel feature probe behind `bpfgate doctor` and `bpfgate compile`
// without --features: what THIS kernel can do, found by loading bpfgate's own
// programs from bpf/build/bpfgate.bpf.o, one family representative at a time
// (open, load only that program, close: the load also creates the object's
// maps, which go away with it), and by reading the kernel's BTF. Nothing
// enforcing is attached: the kprobe's attach has empty rule maps and is
// detached at once; the fmod_ret probe denies only a child of this process,
// for an instant. See docs/doctor.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getSystemErrorMessage } from 'node:util';
import { CGROUP_HOOKS, type CgroupHook, type Feature, type FeatureSet } from '../abi/features.ts';
import { attachText, cgroupProgram, PROGRAMS, type ProgramInfo, type ProgramName } from '../abi/programs.ts';
import { protectFunctions } from '../abi/protect.ts';
import { BpfgateError, PrivilegeError } from '../errors.ts';
import {
  BpfObject,
  btfFunctions,
  isBpffs,
  KernelError,
  libbpfVersion,
  NativeBindingError,
  probeHelper,
  probeProgType,
} from './binding.ts';
import { findCgroup2Mount } from './cgroups.ts';
import { withUprobeTarget } from './elf.ts';
import { verifierLines } from './verifier.ts';

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
/**
 * The fmod_ret rung's probe (bpf/security.bpf.c bg_fmr_probe): attached for
 * an instant to a security_* function nothing hot calls, it denies statfs to
 * the children of the process named in its `parent` global (this one), and
 * one child of ours calls statfs (`stat -f /`) while it is attached.
 */
export const FMOD_RET_PROBE = {
  program: 'bg_fmr_probe',
  function: 'security_sb_statfs',
  parent: 'bg_probe_parent',
} as const;
/** A function every kernel with BPF-LSM compiled in has in its BTF (CONFIG_BPF_LSM). */
export const BPF_LSM_MARKER = 'bpf_lsm_file_open';

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
  /** a load the verifier refused: its own last lines */
  verifier?: string[];
}

const OK: Outcome = { ok: true, text: 'ok', privilege: false };

function failure(err: unknown): Outcome {
  if (err instanceof KernelError) {
    const message = getSystemErrorMessage(-err.errno);
    const words = message.charAt(0).toUpperCase() + message.slice(1);
    const lines = verifierLines(err.libbpfLog);
    let detail = words;
    if (lines.length > 0) detail += `; verifier: ${lines.at(-1)}`;
    else if (err.op === 'load' && err.errno === 1) detail += '; refused before verification: no verifier log';
    return {
      ok: false,
      text: `${err.errnoName} (${detail})`,
      privilege: err.privilege,
      ...(lines.length > 0 ? { verifier: lines } : {}),
    };
  }
  return { ok: false, text: err instanceof Error ? err.message : String(err), privilege: false };
}

/** A feature that is not there, with the verifier's lines when a load said why. */
function missing(reason: string, o?: Outcome, fix?: string): Feature {
  return {
    available: false,
    reason,
    ...(fix ? { fix } : {}),
    ...(o?.verifier ? { verifier: o.verifier } : {}),
  };
}

/** The SEC() name of a program, for reasons: "cgroup/sock_create", "lsm/file_open". */
function sectionOf(name: string): string {
  if (name === FMOD_RET_PROBE.program) return `fmod_ret/${FMOD_RET_PROBE.function}`;
  const info: ProgramInfo | undefined = PROGRAMS[name as ProgramName];
  if (!info) return name;
  const a = info.attach;
  switch (a.type) {
    case 'cgroup':
      if (info.skb) return `cgroup_skb/${a.attachType.replace('cgroup_inet_', '')}`;
      return `cgroup/${info.hook ?? a.attachType}`;
    case 'raw_tracepoint':
      return `raw_tracepoint/${a.event}`;
    case 'kprobe':
      return 'kprobe';
    case 'tcx':
      return 'tc';
    case 'xdp':
      return 'xdp';
    default:
      return attachText(a);
  }
}

class Prober {
  readonly objectPath: string;
  /** every load tried, for the privilege verdict */
  readonly loads: Outcome[] = [];
  /** programs that loaded together (preload): a load of one of them alone is answered from here */
  readonly #together = new Map<string, Outcome>();

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

  /**
   * Load one program of the object alone; `before` adjusts the object before
   * the load (a global), `after` runs on the loaded object (an attach).
   */
  load(
    program: string,
    after?: (obj: BpfObject) => Outcome,
    before?: (obj: BpfObject) => void,
  ): { load: Outcome; after?: Outcome } {
    const known = !after && !before ? this.#together.get(program) : undefined;
    if (known) {
      this.loads.push(known);
      return { load: known };
    }
    const obj = this.open();
    try {
      let load: Outcome;
      try {
        obj.loadOnly([program]);
        before?.(obj);
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

  /**
   * Load these programs in one object. When that succeeds each of them loads
   * on this kernel, and their loads alone are answered without loading again:
   * one object opened, its BTF and maps created once instead of once per
   * program (each load is mostly that). When it fails nothing is recorded:
   * each program is then loaded alone, to find which one the kernel refuses.
   */
  preload(programs: readonly string[]): void {
    const obj = this.open();
    try {
      obj.loadOnly(programs);
      obj.load();
      for (const program of programs) this.#together.set(program, OK);
    } catch {
      // found out one by one
    } finally {
      obj.close();
    }
  }

  loadFeature(program: ProgramName): Feature {
    const { load } = this.load(program);
    const what = `${sectionOf(program)} (${program})`;
    return load.ok
      ? { available: true, reason: `${what} loads` }
      : missing(`${what} load: ${load.text}`, load);
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

/** Which names are functions in the kernel's BTF; null when the BTF cannot be read. */
function kernelFunctions(names: readonly string[]): Map<string, boolean> | null {
  try {
    const found = btfFunctions(names);
    return new Map(names.map((n, i) => [n, found[i] === true]));
  } catch {
    return null;
  }
}

/** The kernel command line's lsm=, or null when it has none (the kernel's built-in CONFIG_LSM applies). */
function cmdlineLsm(): string | null {
  try {
    const m = /(?:^|\s)lsm=(\S*)/.exec(readFileSync('/proc/cmdline', 'utf8'));
    return m ? m[1]! : null;
  } catch {
    return null;
  }
}

/**
 * BPF-LSM not in the active list: compiled in but not active (the usual case:
 * Ubuntu, RHEL), with the exact fix, or not compiled in at all.
 */
function lsmInactive(active: string, list: string[], btf: Map<string, boolean> | null): Feature {
  const built = btf?.get(BPF_LSM_MARKER);
  if (built === false) {
    return {
      available: false,
      reason: `${active}; BPF-LSM is not compiled into this kernel (no ${BPF_LSM_MARKER} in its BTF: CONFIG_BPF_LSM is unset)`,
      fix: 'a kernel built with CONFIG_BPF_LSM=y (then add bpf to lsm= on its command line)',
    };
  }
  const how = built
    ? `compiled in (the kernel's BTF has ${BPF_LSM_MARKER})`
    : 'perhaps compiled in (the BTF could not be read)';
  const now = cmdlineLsm();
  const where =
    now === null
      ? 'the kernel command line has no lsm=: CONFIG_LSM applies'
      : `the kernel command line has lsm=${now}`;
  return {
    available: false,
    reason: `${active}; BPF-LSM is ${how} but not active: bpf is not among them (${where})`,
    fix: `add bpf to lsm= on the kernel command line: lsm=${[...list, 'bpf'].join(',')} (e.g. in GRUB_CMDLINE_LINUX, then update-grub and reboot)`,
  };
}

function lsmFeatures(
  p: Prober,
  btf: () => Map<string, boolean> | null,
): { lsm: Feature; lsmDPath: Feature; exeContent: Feature } {
  const { list, note } = activeLsms();
  const noLsm = (lsm: Feature, short: string) => ({
    lsm,
    lsmDPath: { available: false, reason: `no BPF-LSM: ${short}` },
    exeContent: { available: false, reason: `no BPF-LSM: ${short}` },
  });
  if (!list)
    return noLsm({ available: false, reason: `active LSMs unknown: ${note}` }, 'active LSMs unknown');
  const active = `${note}active LSMs: ${list.join(',')}`;
  if (!list.includes('bpf')) return noLsm(lsmInactive(active, list, btf()), 'bpf is not an active LSM');
  // An LSM program without bpf_d_path decides whether BPF-LSM works at all;
  // the file and exec hooks need bpf_d_path on top.
  const base = p.load('bg_lsm_capable').load;
  if (!base.ok) {
    return noLsm(
      missing(`${active}; lsm/capable load: ${base.text}`, base),
      `lsm/capable load: ${base.text}`,
    );
  }
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
      : missing(bad.map(([n, o]) => `${sectionOf(n)} (bpf_d_path) load: ${o.text}`).join('; '), bad[0]![1]);
  // exceptions by content alone: a sleepable LSM program with bpf_ima_file_hash (5.18, IMA)
  const hashing = p.load('bg_lsm_exe_content').load;
  const exeContent = hashing.ok
    ? { available: true, reason: 'lsm.s/bprm_committed_creds loads with bpf_ima_file_hash' }
    : missing(`lsm.s/bprm_committed_creds (bpf_ima_file_hash) load: ${hashing.text}`, hashing);
  return { lsm, lsmDPath, exeContent };
}

/** The security_* functions the fmod_ret programs attach to, by function. */
function fmodRetFunctions(): string[] {
  return Object.values(PROGRAMS as Record<string, ProgramInfo>)
    .flatMap((i) => (i.attach.type === 'fmod_ret' ? [i.attach.function] : []))
    .sort();
}

/** Each of these functions: in the kernel's BTF (attachable by fmod_ret), or not (inlined, missing). */
function fmodRetHooks(btf: Map<string, boolean> | null, functions: string[]): Record<string, Feature> {
  return Object.fromEntries(
    functions.map((fn) => {
      if (!btf) return [fn, { available: false, reason: `the kernel's BTF could not be read for ${fn}` }];
      return [
        fn,
        btf.get(fn)
          ? { available: true, reason: `${fn} is a function in the kernel's BTF` }
          : {
              available: false,
              reason: `${fn} is not a function in this kernel's BTF (inlined or missing): nothing can attach to it`,
            },
      ];
    }),
  );
}

/** Where BPF-LSM serves every security_* hook, the rung below it is not probed. */
const FMOD_RET_NOT_NEEDED: Feature = {
  available: false,
  probed: false,
  reason: 'not probed: BPF-LSM is active and serves every security_* hook',
};

/**
 * The fmod_ret rung: load the probe program with this process as the parent
 * it denies, attach it to security_sb_statfs, and have a child of ours call
 * statfs: it must fail with EPERM. Detached at once.
 */
function fmodRet(p: Prober): Feature {
  const { program, function: fn, parent } = FMOD_RET_PROBE;
  const what = `fmod_ret/${fn} (${program})`;
  const r = p.load(
    program,
    (obj) => {
      let link: ReturnType<BpfObject['attachTrace']>;
      try {
        link = obj.attachTrace(program);
      } catch (err) {
        return failure(err);
      }
      try {
        const child = spawnSync('stat', ['-f', '-c', '%T', '/'], {
          encoding: 'utf8',
          env: { ...process.env, LC_ALL: 'C' },
          timeout: 60_000,
        });
        if (child.error)
          return { ok: false, text: `cannot run stat -f: ${child.error.message}`, privilege: false };
        if (child.status !== 0 && /Operation not permitted/.test(child.stderr)) return OK;
        return {
          ok: false,
          text: `attached, but a child's statfs was not denied (exit ${child.status}: ${child.stderr.trim() || child.stdout.trim()})`,
          privilege: false,
        };
      } finally {
        link.destroy();
      }
    },
    (obj) => {
      const pid = Buffer.alloc(4);
      pid.writeUInt32LE(process.pid);
      obj.setGlobal(parent, pid);
    },
  );
  if (!r.load.ok) return missing(`${what} load: ${r.load.text}`, r.load);
  if (!r.after?.ok) return missing(`${what} loads; ${r.after?.text}`, r.after);
  return {
    available: true,
    reason: `${what} loads, attaches and denied statfs to a child of the probe with EPERM (detached at once)`,
  };
}

/**
 * A probe family (kprobe, uprobe): load its program, attach it for an instant
 * where nothing fires, and say why not: the load, or the attach (and whether
 * the family's perf PMU exists at all: not built in).
 */
function probeFamily(
  p: Prober,
  o: {
    name: 'kprobe' | 'uprobe';
    program: string;
    where: string;
    config: string;
    attach: (obj: BpfObject) => void;
  },
): Feature {
  const r = p.load(o.program, (obj) => {
    try {
      o.attach(obj);
      return OK;
    } catch (err) {
      return failure(err);
    }
  });
  if (!r.load.ok) return { available: false, reason: `${o.name} (${o.program}) load: ${r.load.text}` };
  const pmu = `/sys/bus/event_source/devices/${o.name}`;
  if (!r.after?.ok) {
    const built = existsSync(pmu) ? '' : `; no ${pmu}: ${o.name}s not built in (${o.config} unset)`;
    return { available: false, reason: `${o.name} loads; ${o.where}: ${r.after?.text}${built}` };
  }
  return { available: true, reason: `${o.name} loads; ${o.where} ok (detached at once)` };
}

function kprobes(p: Prober): Feature {
  const fn = KPROBE_PROBE_FUNCTION;
  // with the rule maps empty (just created by this load) the program reports nothing
  return probeFamily(p, {
    name: 'kprobe',
    program: 'bg_kprobe',
    where: `attach kprobe ${fn}`,
    config: 'CONFIG_KPROBES',
    attach: (obj) => obj.attachKprobe('bg_kprobe', fn, { cookie: 0 }).destroy(),
  });
}

function uprobes(p: Prober): Feature {
  // a uprobe on this process's own executable, at its ELF entry point's symbol
  // (_start), which runs once at startup and never again: nothing fires
  const bin = process.execPath;
  return probeFamily(p, {
    name: 'uprobe',
    program: 'bg_uprobe',
    where: `attach on ${bin}:_start`,
    config: 'CONFIG_UPROBES',
    attach: (obj) =>
      withUprobeTarget(bin, '_start', undefined, (id, path) =>
        obj.attachUprobe('bg_uprobe', path, id.offset, { cookie: 0 }).destroy(),
      ),
  });
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

/** The cgroup_skb programs load (attached to the attach cgroup like the other cgroup programs). */
function cgroupSkb(p: Prober): Feature {
  const ingress = p.loadFeature('bg_cgskb_ingress');
  if (!ingress.available) return ingress;
  const egress = p.loadFeature('bg_cgskb_egress');
  return egress.available
    ? { available: true, reason: `${ingress.reason}; ${egress.reason}; not attached` }
    : egress;
}

function fentry(): Feature {
  // libbpf's probe of the tracing program type loads a fentry program against
  // a bogus BTF id and counts the kernel's "not a function" answer as
  // support. (bpfgate's own tracing programs, fmod_ret, are probed above.)
  let ok: boolean;
  try {
    ok = probeProgType('tracing');
  } catch (err) {
    return { available: false, reason: `libbpf's fentry probe failed: ${failure(err).text}` };
  }
  const how = "libbpf's program-type probe (a fentry load)";
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
  // every program probed by its load alone, in one load first
  p.preload([
    ...CGROUP_HOOKS.map(cgroupProgram),
    'bg_tp_exec',
    'bg_tp_sys_enter',
    'bg_tc_ingress',
    'bg_xdp_ingress',
    'bg_cgskb_ingress',
    'bg_cgskb_egress',
  ]);

  const cgroupHooks = Object.fromEntries(
    CGROUP_HOOKS.map((h) => [h, p.loadFeature(cgroupProgram(h))]),
  ) as Record<CgroupHook, Feature>;
  const tp = tracepoints(p);
  privilegeCheck(p);

  const kernelRelease = release();
  // the kernel's BTF is read once, and only when BPF-LSM is not active (BPF-LSM compiled in? which functions?)
  let functions: Map<string, boolean> | null | undefined;
  const lookup = () => {
    if (functions === undefined)
      functions = kernelFunctions([
        ...new Set([BPF_LSM_MARKER, ...fmodRetFunctions(), ...protectFunctions()]),
      ]);
    return functions;
  };
  const lsm = lsmFeatures(p, lookup);
  // the fmod_ret rung serves where a BPF-LSM program cannot
  const rung = !lsm.lsm.available || !lsm.lsmDPath.available;
  return {
    name: `host ${kernelRelease}`,
    kernelRelease,
    btf: btf(),
    bpffs: bpffs(),
    cgroup2: cgroup2(),
    ...lsm,
    fmodRet: rung ? fmodRet(p) : FMOD_RET_NOT_NEEDED,
    fmodRetHooks: rung ? fmodRetHooks(lookup(), fmodRetFunctions()) : {},
    // self-protection's fmod_ret programs: its rung where BPF-LSM is not active
    protectHooks: lsm.lsm.available ? {} : fmodRetHooks(lookup(), protectFunctions()),
    kprobes: kprobes(p),
    uprobes: uprobes(p),
    fentry: fentry(),
    tracepoints: tp.tracepoints,
    sendSignal: sendSignal(tp.execLoads),
    cgroupHooks,
    tcx: tcx(p, kernelRelease),
    cgroupSkb: cgroupSkb(p),
    xdp: xdp(p),
  };
}
