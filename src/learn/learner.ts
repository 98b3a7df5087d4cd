// The learner: audit-mode violations in, for one scope (a cgroup, an
// executable), what the processes in it did: programs executed, connections
// (destination address, port, protocol), binds (local address, port,
// protocol) and file changes (directory, operation), each with a count. Pure:
// no I/O, no clock. src/learn/policy.ts turns the result into an allowlist.
import { dirname } from 'node:path';
import type { ViolationEvent } from '../events/types.ts';
import { isNativeEvent } from '../report/summary.ts';

/** File operations that change something (reads are not learned: see policy.ts). */
export const WRITE_OPERATIONS = [
  'write',
  'create',
  'unlink',
  'rename',
  'chmod',
  'chown',
  'link',
  'truncate',
  'mkdir',
  'symlink',
  'xattr',
] as const;

export interface LearnScope {
  /** a cgroup path from the cgroup2 root (/system.slice/app.service), or a subtree (/x/**) */
  cgroup?: string;
  /** the acting program's absolute path (for exec events: the program that executed it, the parent's) */
  executable?: string;
  /** only events of this policy (the observe policy) */
  policy?: string;
  /** epoch milliseconds: from (inclusive), until (exclusive); null or absent: open */
  sinceMs?: number | null;
  untilMs?: number | null;
}

export interface NetUse {
  family: 'ipv4' | 'ipv6';
  address: string;
  port: number;
  protocol: string;
}

export interface Learned {
  /** violations used */
  events: number;
  /** events left out, by why */
  skipped: {
    notViolation: number;
    enforced: number;
    outOfScope: number;
    otherKind: number;
    relativePath: number;
  };
  unreadable: number;
  /** nanoseconds since the epoch (decimal strings), null when nothing was used */
  firstNs: string | null;
  lastNs: string | null;
  /** the cgroups and executables seen acting in scope */
  cgroups: Map<string, number>;
  executables: Map<string, number>;
  /** program path → count */
  exec: Map<string, number>;
  /** "family address port protocol" → count */
  connect: Map<string, number>;
  bind: Map<string, number>;
  /** directory (with trailing /) → operation → count */
  writes: Map<string, Map<string, number>>;
}

/** The value of `k` in `m`, made and stored first when missing. */
export function entry<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}

function bump<K>(m: Map<K, number>, k: K, n: number): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

/** A cgroup selector as in policies: exact, or /x/** for x and everything below it. */
export function cgroupMatches(selector: string, path: string | undefined): boolean {
  if (path === undefined) return false;
  if (selector.endsWith('/**')) {
    const base = selector.slice(0, -3);
    return path === base || path.startsWith(`${base}/`) || base === '';
  }
  return path === selector;
}

/** The directory a path is in, with a trailing slash (/var/log/app/x.log → /var/log/app/). */
function dirOf(path: string): string {
  const d = dirname(path);
  return d === '/' ? '/' : `${d}/`;
}

export function netKey(u: NetUse): string {
  return `${u.family} ${u.address} ${u.port} ${u.protocol}`;
}

export function parseNetKey(k: string): NetUse {
  const [family, address, port, protocol] = k.split(' ');
  return { family: family as NetUse['family'], address: address!, port: Number(port), protocol: protocol! };
}

/** Accumulates events one at a time (a stream can be long); `result()` at the end. */
export class Learner {
  readonly #scope: LearnScope;
  readonly #l: Learned = {
    events: 0,
    skipped: { notViolation: 0, enforced: 0, outOfScope: 0, otherKind: 0, relativePath: 0 },
    unreadable: 0,
    firstNs: null,
    lastNs: null,
    cgroups: new Map(),
    executables: new Map(),
    exec: new Map(),
    connect: new Map(),
    bind: new Map(),
    writes: new Map(),
  };

  constructor(scope: LearnScope) {
    this.#scope = scope;
  }

  /** Input that is not a native event. */
  unreadable(n = 1): void {
    this.#l.unreadable += n;
  }

  /** One parsed value (anything: it is checked). */
  add(value: unknown): void {
    if (!isNativeEvent(value)) {
      this.#l.unreadable++;
      return;
    }
    if (value.type !== 'violation') {
      this.#l.skipped.notViolation++;
      return;
    }
    this.#violation(value);
  }

  #inScope(e: ViolationEvent): boolean {
    const s = this.#scope;
    if (s.policy !== undefined && e.policy.name !== s.policy) return false;
    const ms = Number(BigInt(e.timeNs) / 1_000_000n);
    if ((s.sinceMs != null && ms < s.sinceMs) || (s.untilMs != null && ms >= s.untilMs)) return false;
    if (s.cgroup !== undefined && !cgroupMatches(s.cgroup, e.process.cgroup.path)) return false;
    // an exec event's process already runs the new program: the program that asked is the old image, the parent's
    const acting = e.kind === 'exec' ? e.parent.executable : e.process.executable;
    if (s.executable !== undefined && acting !== s.executable) return false;
    return true;
  }

  #violation(e: ViolationEvent): void {
    const l = this.#l;
    // what was enforced was not allowed: learning it would allow it
    if (e.mode !== 'audit' && e.outcome !== 'allowed') {
      l.skipped.enforced++;
      return;
    }
    if (!this.#inScope(e)) {
      l.skipped.outOfScope++;
      return;
    }
    const n = e.count ?? 1;
    const t = e.target as unknown as Record<string, unknown>;
    switch (e.kind) {
      case 'exec':
        if (!String(t.path).startsWith('/')) {
          l.skipped.relativePath += n;
          return;
        }
        bump(l.exec, String(t.path), n);
        break;
      case 'connect':
      case 'bind':
        bump(e.kind === 'connect' ? l.connect : l.bind, netKey(t as unknown as NetUse), n);
        break;
      case 'file': {
        // one attempt may be several operations (an open with O_TRUNC: write and truncate): each is learned
        const all = Array.isArray(t.operations) ? t.operations.map(String) : [String(t.operation)];
        const ops = all.filter((o) => (WRITE_OPERATIONS as readonly string[]).includes(o));
        if (ops.length === 0) {
          l.skipped.otherKind += n;
          return;
        }
        const paths = [String(t.path), ...(typeof t.newPath === 'string' ? [t.newPath] : [])];
        if (!paths.every((p) => p.startsWith('/'))) {
          l.skipped.relativePath += n;
          return;
        }
        // once per directory: a rename within one directory is one change there
        for (const d of new Set(paths.map(dirOf)))
          for (const op of ops)
            bump(
              entry(l.writes, d, () => new Map<string, number>()),
              op,
              n,
            );
        break;
      }
      default:
        l.skipped.otherKind += n;
        return;
    }
    l.events += n;
    if (e.process.cgroup.path !== undefined) bump(l.cgroups, e.process.cgroup.path, n);
    if (e.process.executable !== undefined) bump(l.executables, e.process.executable, n);
    const first = e.firstTimeNs ?? e.timeNs;
    const last = e.lastTimeNs ?? e.timeNs;
    if (l.firstNs === null || BigInt(first) < BigInt(l.firstNs)) l.firstNs = first;
    if (l.lastNs === null || BigInt(last) > BigInt(l.lastNs)) l.lastNs = last;
  }

  result(): Learned {
    return this.#l;
  }
}
