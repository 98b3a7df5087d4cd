// Enrichment: what user space can add to a record about the acting process.
// executable (/proc/<tgid>/exe), arguments (/proc/<tgid>/cmdline, bounded),
// parent executable, user name (/etc/passwd, cached), cgroup path (cgroup id
// = inode number of the cgroup's directory under the cgroup2 mount, found by
// one walk, cached, walked again on a miss at most once per second), and the
// container id that path holds. All reads are asynchronous; caches are
// bounded LRUs. A process that has already exited yields what can still be
// found (often nothing): the event is built from the record anyway.
import type { Dirent } from 'node:fs';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findCgroup2Mount } from '../kernel/cgroups.ts';
import type { DecodedRecord } from '../kernel/record.ts';
import { kindOf } from '../kinds/index.ts';
import { isNewImage } from '../kinds/kind.ts';
import type { Enrichment } from './build.ts';
import type { ContainerRuntime } from './types.ts';

export const DEFAULT_ARGS_MAX = 64;
export const DEFAULT_ARGS_BYTES = 4096;
export const DEFAULT_CACHE_SIZE = 4096;
export const DEFAULT_CGROUP_ENTRIES = 65_536;
const PROCESS_TTL_MS = 2000;
/** an unknown uid reads /etc/passwd again at most this often */
const USERS_TTL_MS = 10_000;
const REWALK_MS = 1000;

/** A small LRU on Map's insertion order. */
export class Lru<K, V> {
  readonly #max: number;
  readonly #m = new Map<K, V>();
  constructor(max: number) {
    this.#max = max;
  }
  get size(): number {
    return this.#m.size;
  }
  get(k: K): V | undefined {
    const v = this.#m.get(k);
    if (v !== undefined) {
      this.#m.delete(k);
      this.#m.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.#m.delete(k);
    this.#m.set(k, v);
    if (this.#m.size > this.#max) this.#m.delete(this.#m.keys().next().value as K);
  }
  clear(): void {
    this.#m.clear();
  }
}

// Where the runtimes put containers, anchored at the cgroup2 root: only root
// (or the runtime) can create cgroups there. A delegated subtree (a user's
// slice, a service with Delegate=yes) can name its cgroups anything, so a
// name alone never makes a container. A cgroup below a container's belongs to
// that container (the outermost id is taken).
const HEX = '([0-9a-f]{64})';
const BELOW = '(?:/.*)?$';
const QOS = '(?:besteffort|burstable)';
const RUNTIME_OF_PREFIX: Record<string, ContainerRuntime> = {
  docker: 'docker',
  'cri-containerd': 'containerd',
  crio: 'cri-o',
};
const CONTAINER_PATTERNS: [RegExp, (m: RegExpExecArray) => ContainerRuntime][] = [
  // docker, systemd and cgroupfs drivers
  [new RegExp(`^/system\\.slice/docker-${HEX}\\.scope${BELOW}`), () => 'docker'],
  [new RegExp(`^/docker/${HEX}${BELOW}`), () => 'docker'],
  // containerd and cri-o as system services
  [new RegExp(`^/system\\.slice/cri-containerd-${HEX}\\.scope${BELOW}`), () => 'containerd'],
  [new RegExp(`^/system\\.slice/crio-${HEX}\\.scope${BELOW}`), () => 'cri-o'],
  // podman (rootful)
  [new RegExp(`^/machine\\.slice/libpod-${HEX}\\.scope${BELOW}`), () => 'podman'],
  // kubelet, systemd driver: the runtime is the scope's prefix
  [
    new RegExp(
      `^/kubepods\\.slice(?:/kubepods-${QOS}\\.slice)?/kubepods-(?:${QOS}-)?pod[0-9a-f_]+\\.slice/(docker|cri-containerd|crio)-${HEX}\\.scope${BELOW}`,
    ),
    (m) => RUNTIME_OF_PREFIX[m[1]!] ?? 'kubernetes',
  ],
  // kubelet, cgroupfs driver
  [new RegExp(`^/kubepods(?:/${QOS})?/pod[0-9a-f-]+/${HEX}${BELOW}`), () => 'kubernetes'],
];

/** The container id (and engine) a cgroup path names, if any. */
export function containerFromCgroup(path: string): { id: string; runtime: string } | undefined {
  for (const [re, runtime] of CONTAINER_PATTERNS) {
    const m = re.exec(path);
    if (m) return { id: m[m.length - 1]!, runtime: runtime(m) };
  }
  return undefined;
}

/** /etc/passwd text -> uid -> name. */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0] && /^\d+$/.test(f[2]!)) out.set(Number(f[2]), f[0]);
  }
  return out;
}

/** /proc/<pid>/cmdline -> arguments, at most maxArgs and maxBytes in all. */
export function parseCmdline(
  buf: Buffer,
  maxArgs = DEFAULT_ARGS_MAX,
  maxBytes = DEFAULT_ARGS_BYTES,
): { args: string[]; truncated: boolean } {
  const parts = buf.toString('utf8').split('\0');
  if (parts.at(-1) === '') parts.pop();
  const args: string[] = [];
  let bytes = 0;
  let truncated = false;
  for (const p of parts) {
    if (args.length >= maxArgs) {
      truncated = true;
      break;
    }
    const room = maxBytes - bytes;
    if (Buffer.byteLength(p) > room) {
      if (room > 0)
        args.push(
          Buffer.from(p)
            .subarray(0, room)
            .toString('utf8')
            .replace(/\uFFFD$/, ''),
        );
      truncated = true;
      break;
    }
    args.push(p);
    bytes += Buffer.byteLength(p);
  }
  return { args, truncated };
}

export interface EnricherOptions {
  procDir?: string;
  passwdFile?: string;
  /** the cgroup2 mount; found in <procDir>/self/mountinfo when not given */
  cgroupRoot?: string;
  argsMax?: number;
  argsBytes?: number;
  cacheSize?: number;
  cgroupEntries?: number;
}

interface ProcInfo {
  at: number;
  exe?: string;
  args?: string[];
  truncated?: boolean;
}

export interface EnricherStats {
  lookups: number;
  processCacheHits: number;
  cgroupWalks: number;
  cgroupMisses: number;
}

/** One enrichment from its parts (what enrich() and cached() answer). */
function composed(
  proc: ProcInfo,
  parentExe: string | undefined,
  user: string | undefined,
  cgroupPath: string | undefined,
): Enrichment {
  const out: Enrichment = {};
  if (proc.exe !== undefined) out.executable = proc.exe;
  if (proc.args !== undefined) out.args = proc.args;
  if (proc.truncated) out.argsTruncated = true;
  if (parentExe !== undefined) out.parentExecutable = parentExe;
  if (user !== undefined) out.user = user;
  if (cgroupPath !== undefined) {
    out.cgroupPath = cgroupPath;
    const c = containerFromCgroup(cgroupPath);
    if (c) {
      out.containerId = c.id;
      out.containerRuntime = c.runtime;
    }
  }
  return out;
}

export class Enricher {
  readonly #o: Required<Omit<EnricherOptions, 'cgroupRoot'>> & { cgroupRoot?: string };
  readonly #procs: Lru<number, ProcInfo>;
  readonly #exes: Lru<number, { at: number; exe?: string }>;
  /** lookups under way, shared by the records that arrive meanwhile */
  readonly #procReads = new Map<number, Promise<ProcInfo>>();
  readonly #exeReads = new Map<number, Promise<string | undefined>>();
  #users = new Map<number, string>();
  #usersAt = 0;
  #cgroups = new Map<string, string>();
  #walkedAt = 0;
  #walking: Promise<void> | undefined;
  #root: string | undefined;
  #s: EnricherStats = { lookups: 0, processCacheHits: 0, cgroupWalks: 0, cgroupMisses: 0 };

  constructor(options: EnricherOptions = {}) {
    this.#o = {
      procDir: options.procDir ?? '/proc',
      passwdFile: options.passwdFile ?? '/etc/passwd',
      argsMax: options.argsMax ?? DEFAULT_ARGS_MAX,
      argsBytes: options.argsBytes ?? DEFAULT_ARGS_BYTES,
      cacheSize: options.cacheSize ?? DEFAULT_CACHE_SIZE,
      cgroupEntries: options.cgroupEntries ?? DEFAULT_CGROUP_ENTRIES,
      ...(options.cgroupRoot !== undefined ? { cgroupRoot: options.cgroupRoot } : {}),
    };
    this.#procs = new Lru(this.#o.cacheSize);
    this.#exes = new Lru(this.#o.cacheSize);
  }

  stats(): EnricherStats {
    return { ...this.#s };
  }

  /** Find the cgroup2 mount and walk it once. */
  async start(): Promise<void> {
    this.#root = this.#o.cgroupRoot;
    if (this.#root === undefined) {
      const mountinfo = await readFile(join(this.#o.procDir, 'self/mountinfo'), 'utf8').catch(() => '');
      this.#root = findCgroup2Mount(mountinfo) ?? undefined;
    }
    await this.#loadUsers();
    await this.#walk();
  }

  stop(): void {
    this.#procs.clear();
    this.#exes.clear();
    this.#cgroups.clear();
  }

  async enrich(r: DecodedRecord): Promise<Enrichment> {
    this.#s.lookups += 1;
    const [proc, parentExe, user, cgroupPath] = await Promise.all([
      this.#process(r.tgid, isNewImage(kindOf(r.kind), r.op)),
      r.ppid > 0 ? this.#exe(r.ppid) : Promise.resolve(undefined),
      this.user(r.uid),
      this.cgroupPath(r.cgroupId),
    ]);
    return composed(proc, parentExe, user, cgroupPath);
  }

  /**
   * What enrich() would answer, when every part of it is in a cache now (no
   * read of /proc, /etc/passwd or the cgroup tree due): the same enrichment,
   * without a promise. Undefined when enrich() has something to read.
   */
  cached(r: DecodedRecord): Enrichment | undefined {
    const now = Date.now();
    const proc = this.#procs.get(r.tgid);
    if (!proc || now - proc.at >= PROCESS_TTL_MS || isNewImage(kindOf(r.kind), r.op)) return undefined;
    let parentExe: string | undefined;
    if (r.ppid > 0) {
      const c = this.#exes.get(r.ppid);
      if (!c || now - c.at >= PROCESS_TTL_MS) return undefined;
      parentExe = c.exe;
    }
    const user = this.#users.get(r.uid);
    if (user === undefined && now - this.#usersAt > USERS_TTL_MS) return undefined;
    let cgroupPath: string | undefined;
    if (this.#root !== undefined) {
      cgroupPath = this.#cgroups.get(r.cgroupId.toString());
      if (cgroupPath === undefined) return undefined;
    }
    this.#s.lookups += 1;
    this.#s.processCacheHits += 1;
    return composed(proc, parentExe, user, cgroupPath);
  }

  #process(tgid: number, fresh: boolean): Promise<ProcInfo> {
    const now = Date.now();
    const cached = this.#procs.get(tgid);
    // an exec replaces the image: never trust a cached entry for it
    if (cached && !fresh && now - cached.at < PROCESS_TTL_MS) {
      this.#s.processCacheHits += 1;
      return Promise.resolve(cached);
    }
    // a burst of records from one process: one read of /proc for all of them
    const inflight = this.#procReads.get(tgid);
    if (inflight && !fresh) {
      this.#s.processCacheHits += 1;
      return inflight;
    }
    const p = this.#readProcess(tgid, now).finally(() => {
      if (this.#procReads.get(tgid) === p) this.#procReads.delete(tgid);
    });
    this.#procReads.set(tgid, p);
    return p;
  }

  async #readProcess(tgid: number, now: number): Promise<ProcInfo> {
    const dir = join(this.#o.procDir, String(tgid));
    const [exe, cmdline] = await Promise.all([
      readlink(join(dir, 'exe')).catch(() => undefined),
      readFile(join(dir, 'cmdline')).catch(() => undefined),
    ]);
    const info: ProcInfo = { at: now };
    if (exe !== undefined) info.exe = exe.replace(/ \(deleted\)$/, '');
    if (cmdline !== undefined && cmdline.length > 0) {
      const { args, truncated } = parseCmdline(cmdline, this.#o.argsMax, this.#o.argsBytes);
      info.args = args;
      if (truncated) info.truncated = true;
    }
    if (info.exe !== undefined || info.args !== undefined) this.#procs.set(tgid, info);
    return info;
  }

  #exe(pid: number): Promise<string | undefined> {
    const now = Date.now();
    const c = this.#exes.get(pid);
    if (c && now - c.at < PROCESS_TTL_MS) return Promise.resolve(c.exe);
    const inflight = this.#exeReads.get(pid);
    if (inflight) return inflight;
    const p = readlink(join(this.#o.procDir, String(pid), 'exe'))
      .catch(() => undefined)
      .then((exe) => {
        const clean = exe?.replace(/ \(deleted\)$/, '');
        this.#exes.set(pid, clean !== undefined ? { at: now, exe: clean } : { at: now });
        return clean;
      })
      .finally(() => {
        if (this.#exeReads.get(pid) === p) this.#exeReads.delete(pid);
      });
    this.#exeReads.set(pid, p);
    return p;
  }

  async #loadUsers(): Promise<void> {
    this.#usersAt = Date.now();
    const text = await readFile(this.#o.passwdFile, 'utf8').catch(() => '');
    this.#users = parsePasswd(text);
  }

  async user(uid: number): Promise<string | undefined> {
    const name = this.#users.get(uid);
    if (name !== undefined) return name;
    if (Date.now() - this.#usersAt > USERS_TTL_MS) {
      await this.#loadUsers();
      return this.#users.get(uid);
    }
    return undefined;
  }

  async cgroupPath(id: bigint): Promise<string | undefined> {
    if (this.#root === undefined) return undefined;
    const key = id.toString();
    const hit = this.#cgroups.get(key);
    if (hit !== undefined) return hit;
    this.#s.cgroupMisses += 1;
    if (Date.now() - this.#walkedAt >= REWALK_MS) await this.#walk();
    else if (this.#walking) await this.#walking;
    return this.#cgroups.get(key);
  }

  #walk(): Promise<void> {
    if (this.#walking) return this.#walking;
    this.#walking = this.#doWalk().finally(() => {
      this.#walking = undefined;
    });
    return this.#walking;
  }

  async #doWalk(): Promise<void> {
    const root = this.#root;
    if (root === undefined) return;
    this.#walkedAt = Date.now();
    this.#s.cgroupWalks += 1;
    const found = new Map<string, string>();
    const queue: string[] = [''];
    while (queue.length > 0 && found.size < this.#o.cgroupEntries) {
      const rel = queue.shift()!;
      const abs = join(root, rel);
      const st = await stat(abs, { bigint: true }).catch(() => undefined);
      if (!st) continue;
      found.set(st.ino.toString(), rel === '' ? '/' : rel);
      let entries: Dirent[];
      try {
        entries = await readdir(abs, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const d of entries) if (d.isDirectory()) queue.push(`${rel}/${d.name}`);
    }
    this.#cgroups = found;
  }
}
