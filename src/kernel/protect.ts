// Self-protection (bpf/lib/protect.h, docs/persistence.md): BPF-LSM programs
// that, while the daemon runs, refuse every other process (root included)
// what would silently end enforcement: detaching or replacing bpfgate's
// links, writing its maps, removing its pins, unmounting bpffs, signalling or
// ptrace-attaching the daemon. The programs are attached without pins: the
// protection lasts as long as the daemon; the pinned enforcement outlives it.
//
// The ways out, all of them logged:
//   - the service manager (pid 1) may signal the daemon: an orderly stop;
//   - `bpfgate unload` drops a request in the run folder: the daemon logs who
//     asked, disarms, and the command goes on as without protection;
//   - break glass: /run/bpfgate/break-glass present when the daemon starts, or
//     `bpfgate.protect=off` on the kernel command line: it starts unprotected.
import {
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import type { BpfLink } from './binding/link.ts';
import { BpfMap } from './binding.ts';
import type { PinLayout } from './pins.ts';

export const PROTECT_MAP = 'bg_protect';
export const PROTECT_PROGRAMS = [
  'bg_protect_bpf',
  'bg_protect_task_kill',
  'bg_protect_ptrace',
  'bg_protect_path_unlink',
  'bg_protect_path_rmdir',
  'bg_protect_path_rename',
  'bg_protect_sb_umount',
] as const;

export const DEFAULT_RUN_DIR = '/run/bpfgate';
export const BREAK_GLASS_FILE = 'break-glass';
export const UNLOAD_REQUEST_FILE = 'unload-request';
export const CMDLINE_BREAK_GLASS = 'bpfgate.protect=off';

export interface ProtectConfig {
  armed: boolean;
  daemonTgid: number;
  pinRootIno: bigint;
  denied: bigint;
}

/** struct bg_protect_cfg (24 bytes) */
export function encodeProtect(c: Omit<ProtectConfig, 'denied'>): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(c.armed ? 1 : 0, 0);
  b.writeUInt32LE(c.daemonTgid, 4);
  b.writeBigUInt64LE(c.pinRootIno, 8);
  return b;
}

export function decodeProtect(b: Uint8Array): ProtectConfig {
  const v = Buffer.from(b);
  return {
    armed: v.readUInt32LE(0) !== 0,
    daemonTgid: v.readUInt32LE(4),
    pinRootIno: v.readBigUInt64LE(8),
    denied: v.readBigUInt64LE(16),
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
  map(name: string): { update(key: Uint8Array, value: Uint8Array): void };
  attachLsm(program: string): BpfLink;
}

export interface UnloadRequest {
  /** the requester's pid as it wrote it, kept only when the kernel agrees (alive, owned by `uid`); else null */
  pid: number | null;
  /** from the kernel: the owner of the request file (the writer's fsuid), not what the file says */
  uid: number;
  at: string;
  /** what the file claimed, for the log */
  claimed: { pid: unknown; uid: unknown };
}

/** The uid that owns /proc/<pid> (its real uid, as the kernel reports it), or null when it is gone. */
function procUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Who asked for an unload: the uid from the kernel (the request file's owner;
 * a link is refused, never followed), the pid only when that process is
 * alive and runs as that uid. The file's own pid and uid are self-reported
 * and only logged as claimed.
 */
export function readUnloadRequest(file: string): UnloadRequest {
  const st = lstatSync(file);
  if (!st.isFile()) throw new Error(`${file} is not a regular file`);
  let claimed: { pid?: unknown; uid?: unknown; at?: unknown } = {};
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      claimed = JSON.parse(readFileSync(fd, 'utf8')) as typeof claimed;
    } finally {
      closeSync(fd);
    }
  } catch {
    // an unreadable request is still a request: the kernel's uid says who
  }
  const pid = typeof claimed.pid === 'number' && Number.isSafeInteger(claimed.pid) ? claimed.pid : null;
  return {
    pid: pid !== null && pid > 0 && procUid(pid) === st.uid ? pid : null,
    uid: st.uid,
    at: typeof claimed.at === 'string' ? claimed.at : st.mtime.toISOString(),
    claimed: { pid: claimed.pid, uid: claimed.uid },
  };
}

export interface ProtectLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Armed protection: the attached programs and the watch for unload requests. */
export class Protection {
  readonly #target: ProtectTarget;
  readonly #links: BpfLink[];
  readonly #log: ProtectLog;
  readonly #runDir: string;
  readonly #pinRootIno: bigint;
  #timer: NodeJS.Timeout | null = null;

  private constructor(
    target: ProtectTarget,
    links: BpfLink[],
    log: ProtectLog,
    runDir: string,
    pinRootIno: bigint,
  ) {
    this.#target = target;
    this.#links = links;
    this.#log = log;
    this.#runDir = runDir;
    this.#pinRootIno = pinRootIno;
  }

  /** Arm: configuration first, then the programs. `onUnloadRequest` runs after a request disarmed it. */
  static arm(
    target: ProtectTarget,
    pins: PinLayout,
    log: ProtectLog,
    options: { runDir?: string; daemonTgid?: number; onUnloadRequest?: (r: UnloadRequest) => void } = {},
  ): Protection {
    const runDir = options.runDir ?? DEFAULT_RUN_DIR;
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    const stale = `${runDir}/${UNLOAD_REQUEST_FILE}`;
    if (existsSync(stale)) unlinkSync(stale); // a request is for the daemon that ran when it was made
    const pinRootIno = statSync(pins.root, { bigint: true }).ino;
    const daemonTgid = options.daemonTgid ?? process.pid;
    target.map(PROTECT_MAP).update(Buffer.alloc(4), encodeProtect({ armed: true, daemonTgid, pinRootIno }));
    const links: BpfLink[] = [];
    try {
      for (const p of PROTECT_PROGRAMS) links.push(target.attachLsm(p));
    } catch (err) {
      for (const l of links) l.destroy();
      target
        .map(PROTECT_MAP)
        .update(Buffer.alloc(4), encodeProtect({ armed: false, daemonTgid, pinRootIno }));
      throw err;
    }
    const p = new Protection(target, links, log, runDir, pinRootIno);
    p.#timer = setInterval(() => p.#checkRequest(options.onUnloadRequest), 200);
    p.#timer.unref();
    log.info({ programs: PROTECT_PROGRAMS, runDir }, 'self-protection armed');
    return p;
  }

  get armed(): boolean {
    return this.#links.length > 0;
  }

  /** Detach the programs and mark the map disarmed. Idempotent. */
  disarm(reason: string): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#links.length === 0) return;
    try {
      this.#target
        .map(PROTECT_MAP)
        .update(
          Buffer.alloc(4),
          encodeProtect({ armed: false, daemonTgid: process.pid, pinRootIno: this.#pinRootIno }),
        );
    } catch (err) {
      this.#log.warn({ err }, 'could not mark self-protection disarmed');
    }
    for (const l of this.#links.splice(0)) l.destroy();
    this.#log.warn({ reason }, 'self-protection disarmed');
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

/** What `bpfgate unload` does when the daemon is protected: ask it to disarm, wait until it has. */
export async function requestUnload(
  layout: PinLayout,
  runDir = DEFAULT_RUN_DIR,
  waitMs = 10_000,
): Promise<boolean> {
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  // the daemon takes the uid from the file's owner and checks the pid against the kernel
  const req = { pid: process.pid, uid: process.getuid?.() ?? -1, at: new Date().toISOString() };
  writeFileSync(`${runDir}/${UNLOAD_REQUEST_FILE}`, `${JSON.stringify(req)}\n`, { mode: 0o600 });
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const s = readPinnedProtect(layout);
    if (!s?.armed) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
