// Self-protection (bpf/lib/protect.h, docs/persistence.md): programs on the
// security hooks (BPF-LSM, or fmod_ret on the security_* functions where the
// bpf LSM is built but not active: src/abi/protect.ts) that, while the daemon runs, refuse every other process (root included)
// what would silently end enforcement: detaching or replacing bpfgate's
// links, writing its maps, removing its pins, unmounting bpffs, signalling or
// ptrace-attaching the daemon, and the quiet ways to stop it without a signal
// of one's own (its rlimits, SIGIO toward it, its cgroup's files, its
// oom_score_adj, its scheduling: src/kernel/protect-task.ts). The programs are
// attached without pins: the protection lasts as long as the daemon; the
// pinned enforcement outlives it. Every refusal is counted by kind and logged.
//
// The ways out, all of them logged:
//   - the service manager (pid 1) may signal the daemon: an orderly stop;
//   - `bpfgate unload` drops a request in the run folder: the daemon logs who
//     asked, disarms, and the command goes on as without protection;
//   - break glass: /run/bpfgate/break-glass present when the daemon starts, or
//     `bpfgate.protect=off` on the kernel command line: it starts unprotected.
import { closeSync, existsSync, mkdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import type { AttachSpec } from '../abi/plan.ts';
import { PROTECT_HOOKS, type ProtectPlan, type ProtectRung, protectProgram } from '../abi/protect.ts';
import type { BpfLink } from './binding/link.ts';
import { BpfMap } from './binding.ts';
import type { PinLayout } from './pins.ts';
import {
  daemonCgroupIds,
  PROTECT_CGROUPS,
  PROTECT_WHATS,
  refusalsSince,
  setOomScoreAdj,
} from './protect-task.ts';
import { openUnloadRequest, readUnloadRequest, type UnloadRequest } from './unload-request.ts';

export type { UnloadRequest } from './unload-request.ts';

export const PROTECT_MAP = 'bg_protect';
/** The programs of every check on a rung (src/abi/protect.ts protectPlan() picks those this kernel attaches). */
export function protectPrograms(rung: ProtectRung): string[] {
  return PROTECT_HOOKS.map((h) => protectProgram(h, rung));
}

export const DEFAULT_RUN_DIR = '/run/bpfgate';
export const BREAK_GLASS_FILE = 'break-glass';
export const UNLOAD_REQUEST_FILE = 'unload-request';
export const CMDLINE_BREAK_GLASS = 'bpfgate.protect=off';

export interface ProtectConfig {
  armed: boolean;
  daemonTgid: number;
  pinRootIno: bigint;
  /** kernfs ids of the daemon's cgroup and its ancestors below the root (at most PROTECT_CGROUPS) */
  cgroupIds: bigint[];
  denied: bigint;
  /** refusals by kind, indexed as PROTECT_REFUSALS */
  deniedBy: bigint[];
}

const CGROUPS_AT = 24;
const DENIED_BY_AT = CGROUPS_AT + 8 * PROTECT_CGROUPS;
/** sizeof(struct bg_protect_cfg) */
export const PROTECT_CFG_SIZE = DENIED_BY_AT + 8 * PROTECT_WHATS;

/** struct bg_protect_cfg; the counters start at zero */
export function encodeProtect(
  c: Omit<ProtectConfig, 'denied' | 'deniedBy' | 'cgroupIds'> & { cgroupIds?: bigint[] },
): Buffer {
  const ids = c.cgroupIds ?? [];
  if (ids.length > PROTECT_CGROUPS) throw new RangeError(`at most ${PROTECT_CGROUPS} cgroup ids`);
  const b = Buffer.alloc(PROTECT_CFG_SIZE);
  b.writeUInt32LE(c.armed ? 1 : 0, 0);
  b.writeUInt32LE(c.daemonTgid, 4);
  b.writeBigUInt64LE(c.pinRootIno, 8);
  ids.forEach((id, i) => {
    b.writeBigUInt64LE(id, CGROUPS_AT + 8 * i);
  });
  return b;
}

export function decodeProtect(b: Uint8Array): ProtectConfig {
  const v = Buffer.from(b);
  const u64s = (at: number, n: number) => Array.from({ length: n }, (_, i) => v.readBigUInt64LE(at + 8 * i));
  return {
    armed: v.readUInt32LE(0) !== 0,
    daemonTgid: v.readUInt32LE(4),
    pinRootIno: v.readBigUInt64LE(8),
    cgroupIds: u64s(CGROUPS_AT, PROTECT_CGROUPS).filter((id) => id !== 0n),
    denied: v.readBigUInt64LE(16),
    deniedBy: u64s(DENIED_BY_AT, PROTECT_WHATS),
  };
}

/** Why protection must not be armed on this boot, or null. */
export function breakGlass(runDir = DEFAULT_RUN_DIR, cmdlinePath = '/proc/cmdline'): string | null {
  try {
    if (readFileSync(cmdlinePath, 'utf8').split(/\s+/).includes(CMDLINE_BREAK_GLASS))
      return `${CMDLINE_BREAK_GLASS} on the kernel command line`;
  } catch {
    // no /proc/cmdline: nothing to say
  }
  if (existsSync(`${runDir}/${BREAK_GLASS_FILE}`)) return `${runDir}/${BREAK_GLASS_FILE} exists`;
  return null;
}

/** The protection state as the pinned bg_protect map says (readable by anyone with CAP_BPF), or null. */
export function readPinnedProtect(layout: PinLayout): ProtectConfig | null {
  let map: BpfMap;
  try {
    map = BpfMap.openPinned(layout.mapPath(PROTECT_MAP));
  } catch {
    return null;
  }
  try {
    const v = map.lookup(Buffer.alloc(4));
    return v ? decodeProtect(v) : null;
  } finally {
    map.close();
  }
}

export interface ProtectTarget {
  map(name: string): {
    update(key: Uint8Array, value: Uint8Array): void;
    lookup(key: Uint8Array): Uint8Array | null;
  };
  /** attach without a pin: the protection lasts as long as this process */
  attachUnpinned(program: string, spec: AttachSpec): BpfLink;
}

/** What /status says of the protection. */
export interface ProtectStatus {
  armed: boolean;
  rung: ProtectRung;
  programs: string[];
  /** checks this kernel cannot attach: what stays open, and why */
  unarmed: ProtectPlan['unarmed'];
}

export interface ProtectLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Armed protection: the attached programs and the watch for unload requests and refusals. */
export class Protection {
  readonly #target: ProtectTarget;
  readonly #links: BpfLink[];
  readonly #log: ProtectLog;
  readonly #runDir: string;
  readonly #cfg: Omit<ProtectConfig, 'denied' | 'deniedBy' | 'armed'>;
  readonly #plan: ProtectPlan;
  #deniedBy: bigint[] = [];
  #onRefused: ((refused: Record<string, number>) => void) | null = null;
  #timer: NodeJS.Timeout | null = null;

  private constructor(
    target: ProtectTarget,
    links: BpfLink[],
    log: ProtectLog,
    runDir: string,
    cfg: Omit<ProtectConfig, 'denied' | 'deniedBy' | 'armed'>,
    plan: ProtectPlan,
  ) {
    this.#target = target;
    this.#links = links;
    this.#log = log;
    this.#runDir = runDir;
    this.#cfg = cfg;
    this.#plan = plan;
  }

  /**
   * Arm: the OOM killer told to pass the daemon by, the configuration, then
   * the plan's programs (its rung; what it cannot arm is logged as a warning).
   * `onUnloadRequest` runs after a request disarmed it.
   */
  static arm(
    target: ProtectTarget,
    plan: ProtectPlan,
    pins: PinLayout,
    log: ProtectLog,
    options: {
      runDir?: string;
      daemonTgid?: number;
      cgroupIds?: bigint[];
      onUnloadRequest?: (r: UnloadRequest) => void;
      /** what was refused since the last call, by kind (a tamper event) */
      onRefused?: (refused: Record<string, number>) => void;
    } = {},
  ): Protection {
    const runDir = options.runDir ?? DEFAULT_RUN_DIR;
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    const stale = `${runDir}/${UNLOAD_REQUEST_FILE}`;
    if (existsSync(stale)) unlinkSync(stale); // a request is for the daemon that ran when it was made
    const daemonTgid = options.daemonTgid ?? process.pid;
    const cfg = {
      daemonTgid,
      pinRootIno: statSync(pins.root, { bigint: true }).ino,
      cgroupIds: options.cgroupIds ?? daemonCgroupIds(),
    };
    if (daemonTgid === process.pid) {
      const oom = setOomScoreAdj(-1000);
      if (oom)
        log.warn(
          { err: oom },
          'self-protection: could not set oom_score_adj to -1000 (needs CAP_SYS_RESOURCE)',
        );
    }
    const map = target.map(PROTECT_MAP);
    map.update(Buffer.alloc(4), encodeProtect({ armed: true, ...cfg }));
    const links: BpfLink[] = [];
    try {
      for (const p of plan.programs) links.push(target.attachUnpinned(p.program, p.attach));
    } catch (err) {
      for (const l of links) l.destroy();
      map.update(Buffer.alloc(4), encodeProtect({ armed: false, ...cfg }));
      throw err;
    }
    const p = new Protection(target, links, log, runDir, cfg, plan);
    p.#onRefused = options.onRefused ?? null;
    p.#timer = setInterval(() => {
      p.#checkRefusals();
      p.#checkRequest(options.onUnloadRequest);
    }, 200);
    p.#timer.unref();
    log.info(
      {
        rung: plan.rung,
        programs: plan.programs.map((x) => x.program),
        runDir,
        cgroupIds: cfg.cgroupIds.map(String),
      },
      `self-protection armed (${plan.rung === 'lsm' ? 'BPF-LSM' : 'fmod_ret on the security_* functions: BPF-LSM is not active'})`,
    );
    for (const u of plan.unarmed)
      log.warn(
        { program: u.program, function: u.function, reason: u.reason },
        `self-protection NOT armed against ${u.guards}: ${u.function} cannot be attached on this kernel`,
      );
    return p;
  }

  get armed(): boolean {
    return this.#links.length > 0;
  }

  status(): ProtectStatus {
    return {
      armed: this.armed,
      rung: this.#plan.rung,
      programs: this.#plan.programs.map((x) => x.program),
      unarmed: this.#plan.unarmed,
    };
  }

  /** Detach the programs and mark the map disarmed. Idempotent. */
  disarm(reason: string): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#links.length === 0) return;
    this.#checkRefusals();
    try {
      this.#target.map(PROTECT_MAP).update(Buffer.alloc(4), encodeProtect({ armed: false, ...this.#cfg }));
    } catch (err) {
      this.#log.warn({ err }, 'could not mark self-protection disarmed');
    }
    for (const l of this.#links.splice(0)) l.destroy();
    this.#log.warn({ reason }, 'self-protection disarmed');
  }

  /** Log what the programs refused since the last look, by kind. */
  #checkRefusals(): void {
    let now: bigint[];
    try {
      const v = this.#target.map(PROTECT_MAP).lookup(Buffer.alloc(4));
      if (!v) return;
      now = decodeProtect(v).deniedBy;
    } catch (err) {
      this.#log.warn({ err }, 'could not read the self-protection counters');
      return;
    }
    const refused = refusalsSince(this.#deniedBy, now);
    this.#deniedBy = now;
    if (Object.keys(refused).length === 0) return;
    this.#log.warn({ refused }, 'self-protection refused an attempt to stop or tamper with bpfgate');
    try {
      this.#onRefused?.(refused);
    } catch (err) {
      this.#log.warn({ err }, 'could not publish the tamper event');
    }
  }

  #checkRequest(onRequest?: (r: UnloadRequest) => void): void {
    const file = `${this.#runDir}/${UNLOAD_REQUEST_FILE}`;
    if (!existsSync(file)) return;
    let req: UnloadRequest;
    try {
      req = readUnloadRequest(file);
    } catch (err) {
      this.#log.warn({ err }, 'an unload request that is not a regular file: ignored');
      return;
    }
    try {
      unlinkSync(file);
    } catch {
      // gone already
    }
    this.#log.warn({ request: req }, 'bpfgate unload requested: disarming self-protection');
    this.disarm(`bpfgate unload (pid ${req.pid ?? 'unknown'}, uid ${req.uid})`);
    onRequest?.(req);
  }
}

/**
 * What `bpfgate unload` does when the daemon is protected: ask it to disarm
 * (the request held open names this process), wait until it has.
 */
export async function requestUnload(
  layout: PinLayout,
  runDir = DEFAULT_RUN_DIR,
  waitMs = 10_000,
): Promise<boolean> {
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const fd = openUnloadRequest(`${runDir}/${UNLOAD_REQUEST_FILE}`);
  try {
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      const s = readPinnedProtect(layout);
      if (!s?.armed) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  } finally {
    closeSync(fd);
  }
}
