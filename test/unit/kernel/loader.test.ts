import { describe, expect, it } from 'vitest';
import { encodePathKey } from '../../../src/abi/encode/path.ts';
import { MapName } from '../../../src/abi/layout.ts';
import type { AttachSpec, MapFill, Plan } from '../../../src/abi/plan.ts';
import type { BinaryInode } from '../../../src/abi/programs.ts';
import { type HostState, Loader } from '../../../src/kernel/loader.ts';
import type { LinkPort, MapPort, ObjectPort } from '../../../src/kernel/port.ts';

// A fake object: maps are dictionaries of hex keys; it records every operation
// so the order of writes, swap and deletes can be asserted.
class FakeMap implements MapPort {
  readonly entries = new Map<string, string>();
  readonly name: string;
  readonly journal: string[];
  readonly failOn: string | undefined;
  constructor(name: string, journal: string[], failOn?: string) {
    this.name = name;
    this.journal = journal;
    this.failOn = failOn;
  }
  update(key: Uint8Array, value: Uint8Array): void {
    const k = Buffer.from(key).toString('hex');
    if (this.failOn === k) throw new Error('E2BIG');
    this.journal.push(`update ${this.name} ${k}`);
    this.entries.set(k, Buffer.from(value).toString('hex'));
  }
  delete(key: Uint8Array): boolean {
    this.journal.push(`delete ${this.name} ${Buffer.from(key).toString('hex')}`);
    return this.entries.delete(Buffer.from(key).toString('hex'));
  }
  lookup(key: Uint8Array): Uint8Array | null {
    const v = this.entries.get(Buffer.from(key).toString('hex'));
    return v === undefined ? null : Buffer.from(v, 'hex');
  }
  keys(): Uint8Array[] {
    return [...this.entries.keys()].map((k) => Buffer.from(k, 'hex'));
  }
}

class FakeObject implements ObjectPort {
  readonly journal: string[] = [];
  readonly maps = new Map<string, FakeMap>();
  readonly attached = new Set<string>();
  readonly loaded: string[];
  readonly failKey: string | undefined;
  constructor(loaded: string[], failKey?: string) {
    this.loaded = loaded;
    this.failKey = failKey;
  }
  map(name: string): FakeMap {
    let m = this.maps.get(name);
    if (!m) {
      m = new FakeMap(name, this.journal, this.failKey);
      this.maps.set(name, m);
    }
    return m;
  }
  attach(program: string, _spec: AttachSpec, cgroupPath: string): LinkPort {
    this.journal.push(`attach ${program} ${cgroupPath}`);
    this.attached.add(program);
    return {
      destroy: () => {
        this.journal.push(`detach ${program}`);
        this.attached.delete(program);
      },
    };
  }
  loadedPrograms(): string[] {
    return this.loaded;
  }
}

const host: HostState = {
  hostFills: () => [],
  taskExeEntries: () => [],
  stateValue: (gen) => Buffer.from([gen, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
};
const log = { info: () => {}, warn: () => {} };

// a bg_rules key: gen, slot, kind, op, a, b, c
function ruleKey(gen: number, cap: number): string {
  const b = Buffer.alloc(16);
  b[0] = gen;
  b[2] = 3;
  b.writeUInt32LE(cap, 4);
  return b.toString('hex');
}

function plan(gen: 0 | 1, caps: number[], programs: string[]): Plan {
  const maps: MapFill[] = [
    { map: MapName.rules, entries: caps.map((c) => ({ key: ruleKey(gen, c), value: '0000000003000000' })) },
  ];
  return {
    formatVersion: 1,
    features: 'test',
    policies: [],
    rules: [],
    programs: programs.map((p) => ({ program: p, attach: { type: 'lsm', hook: p }, kinds: ['capability'] })),
    maps,
    exeIds: {},
    warnings: [],
  };
}

describe('Loader generation swap', () => {
  it('writes the new generation before the swap and retires the old one after it', () => {
    const obj = new FakeObject(['bg_lsm_capable', 'bg_lsm_bpf']);
    const loader = new Loader(obj, host, '/cg', log);
    expect(loader.nextGen()).toBe(0);
    loader.apply(plan(0, [21], ['bg_lsm_capable']), 0);
    expect(loader.activeGen()).toBe(0);
    expect([...obj.map(MapName.rules).entries.keys()]).toEqual([ruleKey(0, 21)]);

    obj.journal.length = 0;
    loader.apply(plan(1, [12], ['bg_lsm_bpf']), 1);
    const swapAt = obj.journal.lastIndexOf(`update ${MapName.state} 00000000`);
    expect(swapAt).toBeGreaterThan(-1);
    // every write of generation 1 and every attach precedes the swap
    expect(obj.journal.indexOf(`update ${MapName.rules} ${ruleKey(1, 12)}`)).toBeLessThan(swapAt);
    expect(obj.journal.indexOf('attach bg_lsm_bpf /cg')).toBeLessThan(swapAt);
    // the old generation is deleted and its program detached only after the swap
    expect(obj.journal.indexOf(`delete ${MapName.rules} ${ruleKey(0, 21)}`)).toBeGreaterThan(swapAt);
    expect(obj.journal.indexOf('detach bg_lsm_capable')).toBeGreaterThan(swapAt);
    expect([...obj.map(MapName.rules).entries.keys()]).toEqual([ruleKey(1, 12)]);
    expect([...obj.attached]).toEqual(['bg_lsm_bpf']);
    expect(obj.map(MapName.state).lookup(Buffer.alloc(4))?.[0]).toBe(1);
  });

  it('writes the daemon state before the first program is attached', () => {
    const obj = new FakeObject(['bg_lsm_capable']);
    const loader = new Loader(obj, host, '/cg', log);
    loader.apply(plan(0, [21], ['bg_lsm_capable']), 0);
    const firstState = obj.journal.indexOf(`update ${MapName.state} 00000000`);
    expect(firstState).toBeGreaterThan(-1);
    expect(firstState).toBeLessThan(obj.journal.indexOf('attach bg_lsm_capable /cg'));
    // a later apply keeps the active generation until its swap
    obj.journal.length = 0;
    loader.apply(plan(1, [12], ['bg_lsm_capable']), 1);
    expect(obj.map(MapName.state).lookup(Buffer.alloc(4))?.[0]).toBe(1);
  });

  it('keeps the active generation when writing the new one fails', () => {
    const obj = new FakeObject(['bg_lsm_capable'], ruleKey(1, 99));
    const loader = new Loader(obj, host, '/cg', log);
    loader.apply(plan(0, [21], ['bg_lsm_capable']), 0);
    expect(() => loader.apply(plan(1, [1, 99], ['bg_lsm_capable']), 1)).toThrow('E2BIG');
    expect(loader.activeGen()).toBe(0);
    // the partial generation 1 was cleaned up, generation 0 is intact
    expect([...obj.map(MapName.rules).entries.keys()]).toEqual([ruleKey(0, 21)]);
    expect([...obj.attached]).toEqual(['bg_lsm_capable']);
  });

  it('refuses a plan that needs a program this kernel did not load', () => {
    const obj = new FakeObject(['bg_cg_sock_create']);
    const loader = new Loader(obj, host, '/cg', log);
    expect(() => loader.apply(plan(0, [21], ['bg_lsm_capable']), 0)).toThrow(/not loaded/);
    expect(loader.activeGen()).toBeNull();
  });

  it('refuses a plan compiled for the active generation', () => {
    const obj = new FakeObject(['bg_lsm_capable']);
    const loader = new Loader(obj, host, '/cg', log);
    loader.apply(plan(0, [21], ['bg_lsm_capable']), 0);
    expect(() => loader.apply(plan(0, [22], ['bg_lsm_capable']), 0)).toThrow(/generation/);
  });

  it('warns of cgroup selectors that select nothing, and reports them for /status', () => {
    const warnings: { obj: object; msg: string }[] = [];
    const unmatched = { web: ['/kubepods/*/pod*'] };
    const obj = new FakeObject(['bg_lsm_capable']);
    const loader = new Loader(obj, { ...host, unmatchedCgroups: () => unmatched }, '/cg', {
      info: () => {},
      warn: (o, msg) => warnings.push({ obj: o, msg }),
    });
    loader.apply(plan(0, [21], ['bg_lsm_capable']), 0);
    expect(warnings).toEqual([
      {
        obj: { policy: 'web', selectors: ['/kubepods/*/pod*'] },
        msg: 'cgroup selectors match no cgroup: the policy applies to none of them until the next reload',
      },
    ]);
    expect(loader.unmatchedCgroups()).toEqual(unmatched);
  });

  it('where the programs follow cgroups as they are made, says the policy applies to them then, and names what they cannot follow', () => {
    const warnings: { obj: object; msg: string }[] = [];
    const obj = new FakeObject(['bg_lsm_capable', 'bg_tp_cgroup_mkdir']);
    const untracked = { web: [{ selector: '/a/x*y*z', why: "component 'x*y*z' has more than one *" }] };
    const loader = new Loader(
      obj,
      { ...host, unmatchedCgroups: () => ({ web: ['/kubepods/*/pod*'] }), untrackedCgroups: () => untracked },
      '/cg',
      { info: () => {}, warn: (o, msg) => warnings.push({ obj: o, msg }) },
    );
    loader.apply(plan(0, [21], ['bg_lsm_capable', 'bg_tp_cgroup_mkdir']), 0);
    expect(warnings).toEqual([
      {
        obj: { policy: 'web', selectors: ['/kubepods/*/pod*'] },
        msg: 'cgroup selectors match no cgroup yet: the policy applies to the cgroups they match when these are made',
      },
      {
        obj: { policy: 'web', selectors: untracked.web },
        msg: 'cgroup selectors the kernel cannot match as cgroups are made: a cgroup made later is in scope only after the next reload',
      },
    ]);
  });

  it('lists the cgroups again after writing a generation, until none is new, and writes what the new ones need', () => {
    const obj = new FakeObject(['bg_lsm_capable']);
    const rounds = [
      [
        {
          map: MapName.scopeCgroup,
          entries: [{ key: '0a00000000000000' + '00'.repeat(8), value: '01'.padEnd(32, '0') }],
        },
      ],
      [
        {
          map: MapName.scopeCgroup,
          entries: [{ key: '0b00000000000000' + '00'.repeat(8), value: '01'.padEnd(32, '0') }],
        },
      ],
      [{ map: MapName.scopeCgroup, entries: [] }],
    ];
    let calls = 0;
    const loader = new Loader(obj, { ...host, cgroupCatchUp: () => rounds[calls++] ?? [] }, '/cg', log);
    loader.apply(plan(0, [21], ['bg_lsm_capable']), 0);
    expect(calls).toBe(3);
    expect([...obj.maps.get(MapName.scopeCgroup)!.entries.keys()]).toEqual([
      '0a00000000000000' + '00'.repeat(8),
      '0b00000000000000' + '00'.repeat(8),
    ]);
  });

  it('adopting a generation, writes its bg_path_any entries from its path rules before anything is attached', () => {
    const obj = new FakeObject(['bg_lsm_file_open']);
    const key = (gen: number, slot: number, op: number, path: string) =>
      Buffer.from(encodePathKey({ gen, slot, kind: 2, op, path, prefix: false }), 'hex');
    const rules = obj.map(MapName.pathRules);
    rules.update(key(1, 3, 1, '/etc/shadow'), Buffer.from('0500000003000000', 'hex'));
    rules.update(key(1, 7, 4, '/etc/gshadow'), Buffer.from('0600000003000000', 'hex'));
    rules.update(key(0, 3, 1, '/etc/stale'), Buffer.from('0700000003000000', 'hex'));
    const loader = new Loader(obj, host, '/cg', log);
    loader.adopt(1, []);
    expect([...obj.map(MapName.pathAny).entries.keys()].sort()).toEqual(
      [key(1, 0, 0, '/etc/shadow'), key(1, 0, 0, '/etc/gshadow')].map((b) => b.toString('hex')).sort(),
    );
    // the inactive generation left behind is gone, and has no twin
    expect(rules.entries.size).toBe(2);
  });

  it('ends the daemon exemption when it lets go of its programs (--keep-enforcing)', () => {
    const obj = new FakeObject(['bg_lsm_capable']);
    const states: boolean[] = [];
    const loader = new Loader(
      obj,
      {
        ...host,
        stateValue: (gen, daemon = true) => {
          states.push(daemon);
          return host.stateValue(gen);
        },
      },
      '/cg',
      log,
    );
    loader.apply(plan(0, [21], ['bg_lsm_capable']), 0);
    expect(states.every((d) => d)).toBe(true);
    loader.release();
    expect(states.at(-1)).toBe(false);
  });
});

// A uprobe's binary, as the fake object's file system names it: path → inode.
class FakeUprobeObject extends FakeObject {
  readonly files = new Map<string, string>();
  failPath: string | undefined;
  override attach(program: string, spec: AttachSpec, cgroupPath: string): LinkPort {
    if (spec.type !== 'uprobe') return super.attach(program, spec, cgroupPath);
    const ino = this.files.get(spec.binary);
    if (!ino || spec.binary === this.failPath) throw new Error(`${spec.binary}: cannot open the binary`);
    const name = `${program}@${spec.binary}#${spec.cookie}=${ino}`;
    this.journal.push(`attach ${name}`);
    this.attached.add(name);
    return {
      inode: { device: '8:1', inode: ino },
      destroy: () => {
        this.journal.push(`detach ${name}`);
        this.attached.delete(name);
      },
    };
  }
  inodeOf(spec: AttachSpec): BinaryInode | undefined {
    const ino = spec.type === 'uprobe' ? this.files.get(spec.binary) : undefined;
    return ino ? { device: '8:1', inode: ino } : undefined;
  }
}

function uprobePlan(gen: 0 | 1, binaries: string[]): Plan {
  return {
    ...plan(gen, [21], []),
    programs: binaries.map((binary, i) => ({
      program: 'bg_uprobe',
      attach: { type: 'uprobe', binary, symbol: 'f', retprobe: false, capture: 0, cookie: 7 + i },
      kinds: ['uprobe'],
    })),
  };
}

describe('Loader: a uprobe follows its binary to a new inode on reload', () => {
  it('attaches to the new inode before the swap and lets the old link go after it', () => {
    const obj = new FakeUprobeObject(['bg_uprobe']);
    obj.files.set('/bin/t', '100');
    const loader = new Loader(obj, host, '/cg', log);
    loader.apply(uprobePlan(0, ['/bin/t']), 0);
    expect(loader.uprobeInodes().get(7)).toEqual({ device: '8:1', inode: '100' });

    // same inode: the link stays
    loader.apply(uprobePlan(1, ['/bin/t']), 1);
    expect(obj.journal.filter((l) => l.startsWith('attach'))).toEqual(['attach bg_uprobe@/bin/t#7=100']);

    // the file was replaced (a package upgrade renames a new file over it)
    obj.files.set('/bin/t', '200');
    obj.journal.length = 0;
    loader.apply(uprobePlan(0, ['/bin/t']), 0);
    const attachAt = obj.journal.indexOf('attach bg_uprobe@/bin/t#7=200');
    const swapAt = obj.journal.findIndex((l, at) => at > attachAt && l.startsWith(`update ${MapName.state}`));
    const detachAt = obj.journal.indexOf('detach bg_uprobe@/bin/t#7=100');
    expect(attachAt).toBeGreaterThanOrEqual(0);
    expect(swapAt).toBeGreaterThan(attachAt);
    expect(detachAt).toBeGreaterThan(swapAt);
    expect([...obj.attached]).toEqual(['bg_uprobe@/bin/t#7=200']);
    expect(loader.uprobeInodes().get(7)).toEqual({ device: '8:1', inode: '200' });
  });

  it('keeps the old link when a later attach of the same reload fails', () => {
    const obj = new FakeUprobeObject(['bg_uprobe']);
    obj.files.set('/bin/t', '100');
    obj.files.set('/bin/u', '300');
    const loader = new Loader(obj, host, '/cg', log);
    loader.apply(uprobePlan(0, ['/bin/t']), 0);
    obj.files.set('/bin/t', '200');
    obj.failPath = '/bin/u';
    expect(() => loader.apply(uprobePlan(1, ['/bin/t', '/bin/u']), 1)).toThrow(/cannot open/);
    expect(loader.activeGen()).toBe(0);
    expect([...obj.attached]).toEqual(['bg_uprobe@/bin/t#7=100']);
    expect(loader.uprobeInodes().get(7)).toEqual({ device: '8:1', inode: '100' });
  });
});

describe('Loader.refreshIdentities', () => {
  const id = (gen: number, ino: number) =>
    `${gen.toString(16).padStart(2, '0')}000000${'01000000'}${ino.toString(16).padStart(2, '0')}00000000000000`;
  it('writes the identities as they are now before deleting the stale ones, in the active generation only', () => {
    let now = [id(0, 1), id(0, 2)];
    const fileHost: HostState = {
      ...host,
      hostFills: (_p, gen) => [
        { map: MapName.fileIds, entries: now.map((key) => ({ key, value: `0${gen}` })) },
      ],
      fileIds: () => now.map((key) => ({ key, value: '00' })),
    };
    const obj = new FakeObject(['bg_tp_exec']);
    const loader = new Loader(obj, fileHost, '/sys/fs/cgroup', log);
    const p = plan(0, [], ['bg_tp_exec']);
    expect(loader.refreshIdentities(p)).toBe(0); // nothing applied yet
    loader.apply(p, 0);
    const other = id(1, 9);
    obj.map(MapName.fileIds).update(Buffer.from(other, 'hex'), Buffer.from('00', 'hex'));
    expect(loader.refreshIdentities(p)).toBe(0);

    // the file at the second path was replaced: a new inode under its name
    now = [id(0, 1), id(0, 3)];
    obj.journal.length = 0;
    expect(loader.refreshIdentities(p)).toBe(2);
    expect(obj.journal).toEqual([`update bg_file_ids ${id(0, 3)}`, `delete bg_file_ids ${id(0, 2)}`]);
    expect([...obj.map(MapName.fileIds).entries.keys()].sort()).toEqual([id(0, 1), id(0, 3), other].sort());
  });
});

describe('Loader: executable identities', () => {
  it("writes the identities and the bound paths in place of the plan's before the swap; a refresh prunes a stale identity", () => {
    let now = [{ key: 'aa01', value: '01000000' }];
    const exeHost: HostState = {
      ...host,
      exeIdentities: (ids) => ({
        idents: now,
        ids: Object.entries(ids).map(([p, id]) => ({
          key: Buffer.from(p).toString('hex'),
          value: `0${id}000080`,
        })),
        unbound: [],
      }),
    };
    const obj = new FakeObject(['bg_tp_exec']);
    const loader = new Loader(obj, exeHost, '/sys/fs/cgroup', log);
    const p = plan(0, [], ['bg_tp_exec']);
    const path = Buffer.from('/usr/bin/dpkg').toString('hex');
    p.exeIds = { '/usr/bin/dpkg': 1 };
    p.maps.push({ map: MapName.exeIds, entries: [{ key: path, value: '01000000' }] });
    loader.apply(p, 0);
    // the identity first, then the path, bound (never the plan's unbound value)
    const writes = obj.journal.filter((j) => j.includes('bg_exe_'));
    expect(writes).toEqual(['update bg_exe_idents aa01', `update bg_exe_ids ${path}`]);
    expect(obj.map(MapName.exeIds).entries.get(path)).toBe('01000080');
    expect(loader.exeIds()).toEqual({ '/usr/bin/dpkg': 1 });

    // the binary replaced: a new inode under its name
    now = [{ key: 'aa02', value: '01000000' }];
    obj.journal.length = 0;
    expect(loader.refreshExeIdentities()).toBe(2);
    expect(obj.journal).toEqual(['update bg_exe_idents aa02', 'delete bg_exe_idents aa01']);
    expect(loader.refreshExeIdentities()).toBe(0);
  });

  it('pinned executables: verified entries follow the measurement (a lost one deleted first), and the running processes of a path whose pins changed are given their ids again', () => {
    let verified = [{ key: 'aa01', value: 'v1' }];
    const seeded: [Record<string, number>, unknown][] = [];
    const exeHost: HostState = {
      ...host,
      taskExeEntries: (ids, digests) => {
        seeded.push([ids, digests]);
        return [];
      },
      exeIdentities: (_ids, digests) => ({
        idents: [{ key: 'aa01', value: '01000000' }],
        ids: [],
        verified: digests?.['/usr/bin/dpkg'] ? verified : [],
        unbound: [],
        unverified:
          verified.length === 0
            ? [{ path: '/usr/bin/dpkg', reason: 'being written (open for writing)' }]
            : [],
      }),
    };
    const obj = new FakeObject(['bg_tp_exec']);
    const loader = new Loader(obj, exeHost, '/sys/fs/cgroup', log);
    const p = plan(0, [], ['bg_tp_exec']);
    p.exeIds = { '/usr/bin/dpkg': 1 };
    p.exeDigests = { '/usr/bin/dpkg': ['aa'] };
    loader.apply(p, 0);
    expect(obj.journal.filter((j) => j.includes('bg_exe_'))).toEqual([
      'update bg_exe_idents aa01',
      'update bg_exe_verified aa01',
    ]);
    expect(seeded).toEqual([[{ '/usr/bin/dpkg': 1 }, { '/usr/bin/dpkg': ['aa'] }]]);
    expect(loader.unverifiedExecutables()).toEqual([]);

    // written since: no longer verified, and said why
    verified = [];
    obj.journal.length = 0;
    expect(loader.refreshExeIdentities()).toBe(1);
    expect(obj.journal).toEqual(['delete bg_exe_verified aa01']);
    expect(loader.unverifiedExecutables()).toEqual([
      { path: '/usr/bin/dpkg', reason: 'being written (open for writing)' },
    ]);

    // the next set pins other digests: the same id, its processes seeded again; the same pins: not
    const q = plan(1, [], ['bg_tp_exec']);
    q.exeIds = { '/usr/bin/dpkg': 1 };
    q.exeDigests = { '/usr/bin/dpkg': ['bb'] };
    loader.apply(q, 1);
    expect(seeded.length).toBe(2);
    expect(seeded[1]![1]).toEqual({ '/usr/bin/dpkg': ['bb'] });
    const r = plan(0, [], ['bg_tp_exec']);
    r.exeIds = { '/usr/bin/dpkg': 1 };
    r.exeDigests = { '/usr/bin/dpkg': ['bb'] };
    loader.apply(r, 0);
    expect(seeded.length).toBe(2);
  });

  it('names the executables it can only match by path (the host does not have them)', () => {
    const warnings: [object, string][] = [];
    const exeHost: HostState = {
      ...host,
      exeIdentities: (ids) => ({ idents: [], ids: [], unbound: Object.keys(ids) }),
    };
    const loader = new Loader(new FakeObject(['bg_tp_exec']), exeHost, '/sys/fs/cgroup', {
      info: () => {},
      warn: (o, m) => warnings.push([o, m]),
    });
    const p = plan(0, [], ['bg_tp_exec']);
    p.exeIds = { '/only/in/containers': 1 };
    loader.apply(p, 0);
    const w = warnings.find(([, m]) => m.includes('matched by path only'));
    expect(w?.[0]).toEqual({ executables: ['/only/in/containers'] });
  });
});
