// cgroup v2: finding the mount, walking the tree, and resolving policy cgroup
// selectors ("/system.slice/*.service", "/kubepods/**") to cgroup ids. The id
// of a cgroup v2 directory is its inode number, which is what
// bpf_get_current_cgroup_id() returns.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

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
    const norm = sel.length > 1 ? sel.replace(/\/+$/, '') : sel;
    const tree = norm.endsWith('/**');
    const re = globToRegExp(tree ? norm.slice(0, -3) || '/' : norm);
    const hits = nodes.filter((n) => re.test(n.path));
    for (const n of hits) (tree ? subtree : self).add(n.id);
    if (hits.length === 0) unmatched.push(sel);
  }
  const sort = (s: Set<bigint>) => [...s].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { self: sort(self), subtree: sort(subtree), unmatched };
}
