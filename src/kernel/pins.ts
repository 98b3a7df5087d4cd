// Pins: how bpfgate's enforcement outlives the daemon (docs/persistence.md).
//
//   <root>/maps/<map name>        every map of the object (shared by the next daemon)
//   <root>/links/<attachment>     every link (attachmentKey(), '.' '/' '%' escaped)
//   <root>/staging/               a new link is pinned here, then renamed over its
//                                 final name: replacing a pin never leaves a moment
//                                 without one
//
// <root> is /sys/fs/bpf/bpfgate unless configured (tests use their own). The
// kernel holds all the state an adopting daemon needs: the active generation
// and the daemon's tgid in bg_state, the executable ids in bg_exe_ids, and the
// attachments as the names of the link pins. Nothing else is written.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  unlinkSync,
} from 'node:fs';
import path from 'node:path';
import { MapName } from '../abi/layout.ts';
import type { BinaryInode } from '../abi/programs.ts';
import { BpfgateError } from '../errors.ts';
import { BpfLink, BpfMap, isBpffs, KernelError } from './binding.ts';
import type { LinkPort } from './port.ts';

export const BPFFS_MOUNT = '/sys/fs/bpf';
export const DEFAULT_PIN_ROOT = `${BPFFS_MOUNT}/bpfgate`;

export class PinError extends BpfgateError {}

export class PinLayout {
  readonly root: string;
  readonly maps: string;
  readonly links: string;
  readonly staging: string;

  constructor(root: string = DEFAULT_PIN_ROOT) {
    this.root = path.resolve(root);
    this.maps = `${this.root}/maps`;
    this.links = `${this.root}/links`;
    this.staging = `${this.root}/staging`;
  }

  mapPath(name: string): string {
    return `${this.maps}/${encodePinName(name)}`;
  }

  linkPath(key: string): string {
    return `${this.links}/${encodePinName(key)}`;
  }

  stagingPath(key: string): string {
    return `${this.staging}/${encodePinName(key)}`;
  }
}

/** bpffs refuses names with a '.' (and a '/' is a folder): kprobe functions such as foo.isra.0 need escaping. */
export function encodePinName(key: string): string {
  return key.replace(/[%./]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function decodePinName(name: string): string {
  return name.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

/** The nearest existing folder at or above p. */
function existingAncestor(p: string): string {
  let cur = p;
  while (!existsSync(cur)) cur = path.dirname(cur);
  return cur;
}

/**
 * Makes the pin folders, mounting bpffs at /sys/fs/bpf first when the root is
 * below it and nothing is mounted there (a fresh boot). Throws PinError when
 * the root is not on a BPF file system.
 */
export function ensurePinDirs(layout: PinLayout): void {
  const within = layout.root === BPFFS_MOUNT || layout.root.startsWith(`${BPFFS_MOUNT}/`);
  if (within && !isBpffs(BPFFS_MOUNT)) {
    try {
      mkdirSync(BPFFS_MOUNT, { recursive: true });
      execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS_MOUNT], { stdio: 'pipe' });
    } catch (err) {
      throw new PinError('PIN_BPFFS_MOUNT', `could not mount the BPF file system at ${BPFFS_MOUNT}`, {
        cause: err,
      });
    }
  }
  if (!isBpffs(existingAncestor(layout.root)))
    throw new PinError('PIN_NOT_BPFFS', `${layout.root} is not on a BPF file system (mount -t bpf bpf DIR)`);
  for (const d of [layout.root, layout.maps, layout.links, layout.staging]) mkdirSync(d, { recursive: true });
}

/** Attachment keys of the link pins (sorted), [] when there are none. */
export function pinnedLinkKeys(layout: PinLayout): string[] {
  try {
    return readdirSync(layout.links).map(decodePinName).sort();
  } catch {
    return [];
  }
}

export function hasPins(layout: PinLayout): boolean {
  return existsSync(layout.root);
}

/** Does process `pid` hold an fd of the map with this id (/proc/<pid>/fdinfo)? */
export function processHoldsMap(pid: number, mapId: number): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return false;
  }
  const want = new RegExp(`^map_id:\\s+${mapId}$`, 'm');
  for (const fd of fds) {
    try {
      if (want.test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/**
 * The daemon that owns these pins, if it still runs: bg_state.daemon_tgid,
 * when that process holds the pinned bg_state map (a recycled pid does not).
 */
export function liveOwner(layout: PinLayout, self = process.pid): number | null {
  let map: BpfMap;
  try {
    map = BpfMap.openPinned(layout.mapPath(MapName.state));
  } catch {
    return null;
  }
  try {
    const v = map.lookup(Buffer.alloc(4));
    const pid = v ? v.readUInt32LE(8) : 0;
    if (pid <= 0 || pid === self) return null;
    return processHoldsMap(pid, map.info.id) ? pid : null;
  } finally {
    map.close();
  }
}

function errnoOf(err: unknown): string | undefined {
  if (err instanceof KernelError) return err.errnoName;
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * A link that is pinned at links/<key>. release() lets go of it (the pin keeps
 * it attached: the daemon stops, enforcement goes on); destroy() retires it
 * (detach, remove the pin).
 */
export class PinnedLink implements LinkPort {
  readonly link: BpfLink;
  readonly pinPath: string;

  constructor(link: BpfLink, pinPath: string) {
    this.link = link;
    this.pinPath = pinPath;
  }

  /** Pin a fresh link at its final path through the staging folder (a rename replaces an old pin atomically). */
  static pin(link: BpfLink, layout: PinLayout, key: string): PinnedLink {
    const staged = layout.stagingPath(key);
    if (existsSync(staged)) unlinkSync(staged);
    link.pin(staged);
    try {
      renameSync(staged, layout.linkPath(key));
    } catch (err) {
      unlinkSync(staged);
      throw err;
    }
    return new PinnedLink(link, layout.linkPath(key));
  }

  static open(layout: PinLayout, key: string): PinnedLink {
    const p = layout.linkPath(key);
    return new PinnedLink(BpfLink.openPinned(p), p);
  }

  get id(): number {
    return this.link.info().id;
  }

  get inode(): BinaryInode | undefined {
    return this.link.inode;
  }

  /** Detach (where the link type allows a forced detach) and close our fd: gone unless someone else holds it. */
  detachAndClose(): void {
    if (this.link.destroyed) return;
    try {
      this.link.detach();
    } catch {
      // tracing, LSM and raw-tracepoint links have no forced detach: closing the last reference detaches them
    }
    this.link.destroy();
  }

  /** Retire: remove the pin if it is still ours, then detach. */
  destroy(): void {
    if (this.link.destroyed) return;
    const ours = this.#pinIsOurs();
    if (ours) {
      try {
        unlinkSync(this.pinPath);
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') throw err;
      }
    }
    this.detachAndClose();
  }

  /** Let go of the handle: the pin keeps the program attached. */
  release(): void {
    this.link.destroy();
  }

  #pinIsOurs(): boolean {
    let other: BpfLink | null = null;
    try {
      other = BpfLink.openPinned(this.pinPath);
      return other.info().id === this.id;
    } catch {
      return false;
    } finally {
      other?.destroy();
    }
  }
}

export interface RemovedLink {
  key: string;
  /** the link's id and program id, when the pin still named a live link */
  id: number | null;
  progId: number | null;
  type: string | null;
}

export interface UnloadReport {
  root: string;
  /** false: there was nothing pinned */
  found: boolean;
  links: RemovedLink[];
  maps: string[];
  /** other pins found and removed (programs, stray files) */
  other: string[];
}

/**
 * Detach and remove everything under the pin root: every link (detached, then
 * its pin removed), then every map pin, then the folders. Idempotent.
 */
export function removePins(layout: PinLayout): UnloadReport {
  const report: UnloadReport = {
    root: layout.root,
    found: existsSync(layout.root),
    links: [],
    maps: [],
    other: [],
  };
  if (!report.found) return report;
  for (const key of pinnedLinkKeys(layout)) {
    const p = layout.linkPath(key);
    const r: RemovedLink = { key, id: null, progId: null, type: null };
    try {
      const link = PinnedLink.open(layout, key);
      try {
        const info = link.link.info();
        r.id = info.id;
        r.progId = info.progId;
        r.type = info.typeName;
      } catch {
        // a defunct link (already detached) has no program
      }
      unlinkSync(p);
      link.detachAndClose();
    } catch (err) {
      if (existsSync(p)) unlinkSync(p);
      if (errnoOf(err) !== 'ENOENT' && existsSync(p)) throw err;
    }
    report.links.push(r);
  }
  const walk = (dir: string, rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const full = `${dir}/${n}`;
      const relName = rel ? `${rel}/${n}` : n;
      if (lstatSync(full).isDirectory()) {
        walk(full, relName);
        rmdirSync(full);
        continue;
      }
      unlinkSync(full);
      if (dir === layout.maps) report.maps.push(decodePinName(n));
      else report.other.push(relName);
    }
  };
  walk(layout.root, '');
  try {
    rmdirSync(layout.root);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
  return report;
}
