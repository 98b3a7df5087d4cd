// The plan for cgroups made after a set is applied (planCgroupWatch), run
// through a model of what bpf/lib/cgwatch.h does when a cgroup is made: the
// cgroups made later must end selected exactly as resolveCgroupSelectors would
// select them had they existed at load.
import { describe, expect, it } from 'vitest';
import type { GlobState } from '../../../src/abi/encode/scope.ts';
import {
  type CgroupNode,
  type CgroupWatchPlan,
  planCgroupWatch,
  resolveCgroupSelectors,
} from '../../../src/kernel/cgroups.ts';

/** bg_glob_match */
function matches(g: GlobState, name: string): boolean {
  if (!g.star) return name === g.prefix;
  return (
    name.length >= g.prefix.length + g.suffix.length && name.startsWith(g.prefix) && name.endsWith(g.suffix)
  );
}

/** The kernel's side: bg_scope_cgroup and bg_cgroup_watch as they evolve while cgroups are made. */
class Model {
  readonly scope = new Map<bigint, { self: bigint; subtree: bigint }>();
  readonly watch: Map<bigint, number[]>;
  readonly #globs: Map<number, GlobState>;
  readonly nodes: CgroupNode[];
  #next = 1000n;

  constructor(plan: CgroupWatchPlan, nodes: CgroupNode[]) {
    this.watch = new Map(plan.watch);
    this.#globs = new Map(plan.globs.map((g) => [g.state, g]));
    this.nodes = [...nodes];
  }

  mkdir(path: string): bigint {
    const parentPath = path.slice(0, path.lastIndexOf('/')) || '/';
    const parent = this.nodes.find((n) => n.path === parentPath)!;
    const id = this.#next++;
    this.nodes.push({ path, id });
    const name = path.slice(path.lastIndexOf('/') + 1);
    const v = { self: 0n, subtree: 0n };
    const next: number[] = [];
    for (const s of this.watch.get(parent.id) ?? []) {
      const g = this.#globs.get(s)!;
      if (!matches(g, name)) continue;
      v.self |= g.self;
      v.subtree |= g.subtree;
      if (g.next) next.push(g.next);
    }
    if (v.self | v.subtree) this.scope.set(id, v);
    if (next.length) this.watch.set(id, next);
    return id;
  }

  rmdir(path: string): void {
    const i = this.nodes.findIndex((n) => n.path === path);
    const [n] = this.nodes.splice(i, 1);
    this.scope.delete(n!.id);
    this.watch.delete(n!.id);
  }
}

const base: CgroupNode[] = [
  { path: '/', id: 1n },
  { path: '/system.slice', id: 2n },
  { path: '/system.slice/nginx.service', id: 3n },
  { path: '/kubepods', id: 4n },
];

/** Make `made` after planning `selectors` for slot 0 on `base`: what each made cgroup is selected by. */
function madeLater(selectors: string[], made: string[], removed: string[] = []) {
  const plan = planCgroupWatch([{ slot: 0, cgroups: selectors }], base);
  const m = new Model(plan, base);
  for (const r of removed) m.rmdir(r);
  const ids = made.map((p) => m.mkdir(p));
  // what the selectors would select had the made cgroups existed at load
  const want = resolveCgroupSelectors(selectors, m.nodes);
  return {
    plan,
    got: made.map((p, i) => ({
      path: p,
      self: (m.scope.get(ids[i]!)?.self ?? 0n) === 1n,
      subtree: (m.scope.get(ids[i]!)?.subtree ?? 0n) === 1n,
    })),
    want: made.map((p, i) => ({
      path: p,
      self: want.self.includes(ids[i]!),
      subtree: want.subtree.includes(ids[i]!),
    })),
  };
}

describe('cgroups made after the set was applied', () => {
  it('an exact selector selects its cgroup made again (a service restarted gets a new cgroup)', () => {
    const r = madeLater(
      ['/system.slice/nginx.service'],
      ['/system.slice/nginx.service'],
      ['/system.slice/nginx.service'],
    );
    expect(r.got).toEqual([{ path: '/system.slice/nginx.service', self: true, subtree: false }]);
    expect(r.got).toEqual(r.want);
  });

  it('a * component selects what it matches and nothing else', () => {
    const made = [
      '/system.slice/web.service',
      '/system.slice/web.scope',
      '/system.slice/.service',
      '/user.slice',
    ];
    const r = madeLater(['/system.slice/*.service'], made);
    expect(r.got.map((x) => x.self)).toEqual([true, false, true, false]);
    expect(r.got).toEqual(r.want);
  });

  it('follows a selector down levels made one after the other', () => {
    const made = [
      '/kubepods/burstable',
      '/kubepods/burstable/pod1',
      '/kubepods/burstable/other',
      '/kubepods/burstable/pod1/ctr',
      '/kubepods/besteffort',
      '/kubepods/besteffort/pod2',
    ];
    const r = madeLater(['/kubepods/*/pod*'], made);
    expect(r.got.filter((x) => x.self).map((x) => x.path)).toEqual([
      '/kubepods/burstable/pod1',
      '/kubepods/besteffort/pod2',
    ]);
    expect(r.got).toEqual(r.want);
  });

  it('a /** selector whose root is made later selects it with its subtree', () => {
    const r = madeLater(['/late/**', '/system.slice/*.service/**'], ['/late', '/system.slice/db.service']);
    expect(r.got).toEqual([
      { path: '/late', self: false, subtree: true },
      { path: '/system.slice/db.service', self: false, subtree: true },
    ]);
    expect(r.got).toEqual(r.want);
  });

  it('a selector made of parts that do not exist yet at all is followed from the root', () => {
    const r = madeLater(['/a/b/c'], ['/a', '/a/b', '/a/x', '/a/b/c']);
    expect(r.got.map((x) => x.self)).toEqual([false, false, false, true]);
    expect(r.got).toEqual(r.want);
  });

  it('needs nothing for / and /**, which always exist', () => {
    const plan = planCgroupWatch([{ slot: 0, cgroups: ['/', '/**'] }], base);
    expect(plan).toEqual({ globs: [], watch: new Map(), untracked: [] });
  });

  it('says which selectors the kernel cannot follow, and why', () => {
    const plan = planCgroupWatch(
      [{ slot: 0, cgroups: ['/system.slice/a*b*c', `/x/${'y'.repeat(70)}`] }],
      base,
    );
    expect(plan.untracked).toEqual([
      { selector: '/system.slice/a*b*c', why: "component 'a*b*c' has more than one *" },
      { selector: `/x/${'y'.repeat(70)}`, why: expect.stringContaining('longer than 63 bytes') },
    ]);
    expect(plan.globs).toEqual([]);
  });

  it('gives every slot its own bit', () => {
    const plan = planCgroupWatch(
      [
        { slot: 0, cgroups: ['/system.slice/nginx.service'] },
        { slot: 3, cgroups: ['/system.slice/*.service'] },
      ],
      base,
    );
    const m = new Model(plan, base);
    m.rmdir('/system.slice/nginx.service');
    const id = m.mkdir('/system.slice/nginx.service');
    expect(m.scope.get(id)).toEqual({ self: 0b1001n, subtree: 0n });
  });
});
