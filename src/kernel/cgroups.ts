// cgroup v2: finding the mount, walking the tree, and resolving policy cgroup
// selectors ("/system.slice/*.service", "/kubepods/**") to cgroup ids. The id
// of a cgroup v2 directory is its inode number, which is what
// bpf_get_current_cgroup_id() returns.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { GlobState } from '../abi/encode/scope.ts';
import { GLOB_PART_MAX, WATCH_STATES } from '../abi/layout.ts';

/**
 * The cgroup2 mount point from /proc/self/mountinfo (hybrid hosts mount it at
 * /sys/fs/cgroup/unified), its octal escapes (a space is \040) decoded.
 */
export function findCgroup2Mount(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string | null {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype !== 'cgroup2') continue;
    const mnt = line.split(' ')[4];
    return mnt
      ? mnt.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))
      : null;
  }
  return null;
}

export interface CgroupNode {
  /** path relative to the cgroup2 root, "/" for the root */
  path: string;
  id: bigint;
}

/** Every cgroup under the mount (bounded depth), depth-first, sorted by path. */
export function listCgroups(mount: string, maxDepth = 32): CgroupNode[] {
  const out: CgroupNode[] = [];
  const walk = (rel: string, depth: number): void => {
    const abs = rel === '/' ? mount : join(mount, rel);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(abs, { bigint: true });
    } catch {
      return; // removed while walking
    }
    out.push({ path: rel, id: st.ino });
    if (depth >= maxDepth) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) walk(rel === '/' ? `/${e.name}` : `${rel}/${e.name}`, depth + 1);
    }
  };
  walk('/', 0);
  return out;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export interface CgroupSelection {
  /** cgroups selected exactly */
  self: bigint[];
  /** cgroups selected with every descendant, present and future (checked in the kernel) */
  subtree: bigint[];
  /** selectors that select no cgroup that exists now (a warning at load and in /status) */
  unmatched: string[];
}

/** A selector without its trailing slashes: whether it ends in `/**`, and the path before that. */
function selectorParts(sel: string): { tree: boolean; body: string } {
  const norm = sel.length > 1 ? sel.replace(/\/+$/, '') : sel;
  const tree = norm.endsWith('/**');
  return { tree, body: tree ? norm.slice(0, -3) || '/' : norm };
}

/**
 * Resolves selectors against a listing. "/a/**" selects /a and its whole subtree
 * (future children included, since the kernel walks ancestors); any other glob
 * selects the existing cgroups it matches.
 */
export function resolveCgroupSelectors(selectors: string[], nodes: CgroupNode[]): CgroupSelection {
  const self = new Set<bigint>();
  const subtree = new Set<bigint>();
  const unmatched: string[] = [];
  for (const sel of selectors) {
    const { tree, body } = selectorParts(sel);
    const re = globToRegExp(body);
    const hits = nodes.filter((n) => re.test(n.path));
    for (const n of hits) (tree ? subtree : self).add(n.id);
    if (hits.length === 0) unmatched.push(sel);
  }
  const sort = (s: Set<bigint>) => [...s].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { self: sort(self), subtree: sort(subtree), unmatched };
}

/** The policies' selectors, by slot, as the plan lists them. */
export interface SlotSelectors {
  slot: number;
  cgroups: readonly string[];
}

/** What the programs need to put a cgroup made later in scope (bpf/lib/cgwatch.h). */
export interface CgroupWatchPlan {
  /** one state per component of each selector the kernel can follow */
  globs: GlobState[];
  /** cgroup id → the states its children are matched against when made */
  watch: Map<bigint, number[]>;
  /** selectors a cgroup made later is not matched against until the next reload, and why */
  untracked: { selector: string; why: string }[];
}

/** One component of a selector as a state pattern, or why the kernel cannot match it. */
function componentPattern(c: string): { star: boolean; prefix: string; suffix: string } | string {
  const stars = c.split('*').length - 1;
  if (stars > 1) return `component '${c}' has more than one *`;
  const [prefix = '', suffix = ''] = c.split('*');
  if (Buffer.byteLength(prefix) >= GLOB_PART_MAX || Buffer.byteLength(suffix) >= GLOB_PART_MAX)
    return `component '${c}' is longer than ${GLOB_PART_MAX - 1} bytes on either side of its *`;
  return { star: stars === 1, prefix, suffix };
}

/**
 * Plans the kernel's matching of cgroups made after a set is applied: each
 * selector (but `/` and `/**`, whose cgroup always exists) becomes a chain of
 * states, one per component; every existing cgroup whose path matches the
 * first j components of a selector watches for state j+1 among its children.
 * The last state selects the child exactly, or with its subtree (`/**`).
 * Pure: `nodes` is a listing (listCgroups).
 */
export function planCgroupWatch(
  policies: readonly SlotSelectors[],
  nodes: readonly CgroupNode[],
): CgroupWatchPlan {
  const globs: GlobState[] = [];
  const watch = new Map<bigint, number[]>();
  const untracked: CgroupWatchPlan['untracked'] = [];
  const byDepth = new Map<number, CgroupNode[]>();
  for (const n of nodes) {
    const depth = n.path === '/' ? 0 : n.path.split('/').length - 1;
    byDepth.set(depth, [...(byDepth.get(depth) ?? []), n]);
  }
  for (const p of policies) {
    const bit = 1n << BigInt(p.slot);
    for (const sel of p.cgroups) {
      const { tree, body } = selectorParts(sel);
      if (body === '/') continue;
      const components = body.split('/').slice(1);
      const patterns = components.map(componentPattern);
      const bad = patterns.find((x): x is string => typeof x === 'string');
      if (bad) {
        untracked.push({ selector: sel, why: bad });
        continue;
      }
      const first = globs.length + 1;
      for (const [i, x] of patterns.entries()) {
        const last = i === patterns.length - 1;
        const pat = x as Exclude<(typeof patterns)[number], string>;
        globs.push({
          state: first + i,
          self: last && !tree ? bit : 0n,
          subtree: last && tree ? bit : 0n,
          next: last ? 0 : first + i + 1,
          ...pat,
        });
      }
      // the cgroups that match the first j components watch for component j+1
      const res = components.map((c) => globToRegExp(c));
      let frontier: CgroupNode[] = nodes.filter((n) => n.path === '/');
      for (let j = 0; j < components.length; j++) {
        for (const n of frontier) {
          const list = watch.get(n.id) ?? [];
          if (list.length >= WATCH_STATES) {
            untracked.push({ selector: sel, why: `more than ${WATCH_STATES} selectors watch ${n.path}` });
            continue;
          }
          list.push(first + j);
          watch.set(n.id, list);
        }
        const prefix = new Set(frontier.map((n) => n.path));
        frontier = (byDepth.get(j + 1) ?? []).filter((n) => {
          const parent = n.path.slice(0, n.path.lastIndexOf('/')) || '/';
          return prefix.has(parent) && res[j]!.test(n.path.slice(n.path.lastIndexOf('/') + 1));
        });
        if (frontier.length === 0) break;
      }
    }
  }
  return { globs, watch, untracked };
}
