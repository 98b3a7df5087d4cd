// The libbpf binding against this host's kernel (run as root):
//   npx vitest run --project host test/host/binding.test.ts
// Enforcing programs are attached only to a cgroup this test creates, and
// only the test's own children run in it (KERNEL.md, "Safety").
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AttachSpecError,
  BpfLink,
  BpfMap,
  BpfObject,
  isBpffs,
  isPrivilegeError,
  KernelError,
  libbpfVersion,
  numPossibleCpus,
  probeHelper,
  probeMapType,
  probeProgType,
  type RecordBatch,
  RingBufferReader,
  unpin,
} from '../../src/kernel/binding.ts';
import { createCgroup, type TestCgroup, tryRawSocket } from '../support/cgroup.ts';
import { buildTestObject } from '../support/test-object.ts';

const BPFFS = '/sys/fs/bpf';
const TRACEFS = '/sys/kernel/tracing';
const PIN_DIR = `${BPFFS}/bpfgate-binding-test-${process.pid}`;
const MAGIC = 0x5eed_f00d_cafe_0001n;
const NO_LSM = ['test_sock_create', 'test_exec', 'test_sys_enter', 'test_openat', 'test_kprobe'];

// what to undo in afterAll, whatever happened
const objects: BpfObject[] = [];
const links: BpfLink[] = [];
const readers: RingBufferReader[] = [];
const maps: BpfMap[] = [];
let cgroup: TestCgroup | undefined;
let objPath = '';

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}
/** struct lpm_key { u32 prefixlen; u8 data[16]; } */
function lpmKey(prefixBits: number, bytes: number[]): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(prefixBits);
  Buffer.from(bytes).copy(b, 4);
  return b;
}

function open(): BpfObject {
  const o = BpfObject.open(objPath);
  objects.push(o);
  return o;
}

/** A loaded object without the lsm program (refused on this host), magic and target tgid set. */
function loadTestObject(programs: string[] = NO_LSM): BpfObject {
  const o = open();
  o.loadOnly(programs);
  o.setGlobal('magic', u64(MAGIC));
  o.setGlobal('target_tgid', u32(process.pid));
  o.load();
  return o;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

beforeAll(() => {
  objPath = buildTestObject();
  // mounting bpffs and tracefs is the caller's job (the daemon's, here the test's); both stay mounted
  if (!isBpffs(BPFFS)) execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS]);
  if (!existsSync(`${TRACEFS}/events`)) execFileSync('mount', ['-t', 'tracefs', 'tracefs', TRACEFS]);
  mkdirSync(PIN_DIR);
  cgroup = createCgroup(`bpfgate-binding-test-${process.pid}`);
});

afterAll(async () => {
  for (const r of readers) r.close();
  for (const l of links) {
    try {
      if (l.pinPath) l.unpin();
    } catch {}
    l.destroy();
  }
  for (const m of maps) m.close();
  for (const o of objects) o.close();
  rmSync(PIN_DIR, { recursive: true, force: true });
  await cgroup?.remove();
});

describe('probes', () => {
  it('reports libbpf, CPUs and this kernel: no BPF-LSM, cgroup and tracing yes', () => {
    expect(libbpfVersion()).toMatch(/^1\.\d+$/);
    expect(numPossibleCpus()).toBeGreaterThan(0);
    expect(probeProgType('lsm')).toBe(false);
    expect(probeProgType('cgroup_sock')).toBe(true);
    expect(probeProgType('raw_tracepoint')).toBe(true);
    expect(probeMapType('ringbuf')).toBe(true);
    expect(probeMapType('lpm_trie')).toBe(true);
    expect(probeHelper('kprobe', 'send_signal')).toBe(true);
    expect(probeHelper('cgroup_sock', 'get_current_cgroup_id')).toBe(true);
    expect(probeHelper('cgroup_sock', 'd_path')).toBe(false);
    expect(probeHelper('kprobe', 'd_path')).toBe(false);
    // tracing/lsm programs need a BTF target: probe those by loading a real program
    expect(thrown(() => probeHelper('tracing', 'send_signal'))).toMatchObject({ code: 'KERNEL_EOPNOTSUPP' });
    expect(isBpffs(BPFFS)).toBe(true);
    expect(isBpffs('/tmp')).toBe(false);
    expect(thrown(() => probeProgType('no_such_type'))).toBeInstanceOf(KernelError);
  });
});

describe('objects', () => {
  it('lists programs with their types and maps with their sizes', () => {
    const o = open();
    const progs = Object.fromEntries(o.programs().map((p) => [p.name, p]));
    expect(progs.test_sock_create).toMatchObject({
      section: 'cgroup/sock_create',
      typeName: 'cgroup_sock',
      attachTypeName: 'cgroup_inet_sock_create',
      autoload: true,
      fd: -1,
    });
    expect(progs.test_exec).toMatchObject({ section: 'tp_btf/sched_process_exec', typeName: 'tracing' });
    expect(progs.test_lsm).toMatchObject({ typeName: 'lsm' });
    const ms = Object.fromEntries(o.maps().map((m) => [m.name, m]));
    expect(ms.test_hash).toMatchObject({ typeName: 'hash', keySize: 4, valueSize: 8, maxEntries: 1024 });
    expect(ms.test_lpm).toMatchObject({ typeName: 'lpm_trie', keySize: 20, valueSize: 4 });
    expect(ms.test_events).toMatchObject({ typeName: 'ringbuf' });
    o.close();
    expect(o.closed).toBe(true);
    expect(thrown(() => o.programs())).toMatchObject({ code: 'KERNEL_EBADF' });
  });

  it('loading an lsm program fails with a KernelError carrying EPERM (BPF-LSM refused here)', () => {
    const o = open();
    const e = thrown(() => o.load());
    expect(e).toBeInstanceOf(KernelError);
    expect(e).toMatchObject({
      code: 'KERNEL_EPERM',
      errno: 1,
      errnoName: 'EPERM',
      op: 'load',
      privilege: true,
    });
    expect(isPrivilegeError(e)).toBe(true);
    expect((e as KernelError).libbpfLog).toContain('test_lsm');
    expect(o.loaded).toBe(false);
  });

  it('loads only the chosen programs, with rodata set before load', () => {
    const o = loadTestObject(['test_sock_create']);
    const progs = Object.fromEntries(o.programs().map((p) => [p.name, p]));
    expect(progs.test_sock_create!.fd).toBeGreaterThan(0);
    expect(progs.test_exec!.fd).toBe(-1);
    expect(progs.test_lsm!.autoload).toBe(false);
    expect(o.programFd('test_sock_create')).toBe(progs.test_sock_create!.fd);
    // the global's value is in the loaded .rodata map: magic at offset 0
    const rodata = o.maps().find((m) => m.internal && m.name.endsWith('.rodata'))!;
    const value = o.map(rodata.name).lookup(u32(0))!;
    expect(value.readBigUInt64LE(0)).toBe(MAGIC);
    expect(value.readUInt32LE(8)).toBe(process.pid);
    // too late to change rodata now
    expect(thrown(() => o.setGlobal('magic', u64(1n)))).toBeInstanceOf(KernelError);
  });

  it('turns bad input into typed errors', () => {
    expect(thrown(() => BpfObject.open('/nonexistent/x.bpf.o'))).toMatchObject({
      code: 'BPF_OPEN_FAILED',
      errno: 2,
      op: 'open',
    });
    const o = open();
    expect(thrown(() => o.setAutoload('no_such_prog', false))).toMatchObject({ code: 'BPF_NOT_FOUND' });
    expect(thrown(() => o.loadOnly(['no_such_prog']))).toMatchObject({ code: 'BPF_NOT_FOUND' });
    expect(thrown(() => o.setGlobal('no_such_var', u32(1)))).toMatchObject({ code: 'KERNEL_ENOENT' });
    expect(thrown(() => o.setGlobal('magic', u32(1)))).toMatchObject({ code: 'KERNEL_EINVAL' });
    o.loadOnly(['test_sock_create']);
    o.load();
    expect(thrown(() => o.map('no_such_map'))).toMatchObject({ code: 'BPF_NOT_FOUND', op: 'find_map' });
    expect(thrown(() => o.map('test_hash').update(u32(1), u32(1)))).toMatchObject({ code: 'KERNEL_EINVAL' });
    expect(thrown(() => o.attachTrace('test_exec'))).toBeInstanceOf(KernelError); // not loaded
    expect(thrown(() => BpfMap.openPinned(`${PIN_DIR}/absent`))).toMatchObject({ code: 'KERNEL_ENOENT' });
  });
});

describe('maps', () => {
  it('hash: create, read, update with flags, delete, iterate', () => {
    const h = loadTestObject(['test_sock_create']).map('test_hash');
    expect(h.lookup(u32(1))).toBeNull();
    h.update(u32(1), u64(10n), 'noexist');
    expect(h.lookup(u32(1))!.readBigUInt64LE()).toBe(10n);
    expect(thrown(() => h.update(u32(1), u64(11n), 'noexist'))).toMatchObject({ code: 'KERNEL_EEXIST' });
    expect(thrown(() => h.update(u32(2), u64(20n), 'exist'))).toMatchObject({ code: 'KERNEL_ENOENT' });
    h.update(u32(1), u64(12n), 'exist');
    h.update(u32(2), u64(20n));
    expect(h.lookup(u32(1))!.readBigUInt64LE()).toBe(12n);
    // get-next-key walk and keys() agree
    const walked: number[] = [];
    for (let k = h.nextKey(null); k; k = h.nextKey(k)) walked.push(k.readUInt32LE());
    expect(walked.sort()).toEqual([1, 2]);
    expect(
      h
        .keys()
        .map((k) => k.readUInt32LE())
        .sort(),
    ).toEqual([1, 2]);
    expect(h.delete(u32(1))).toBe(true);
    expect(h.delete(u32(1))).toBe(false);
    expect(h.lookup(u32(1))).toBeNull();
  });

  it('hash: batched update, lookup and delete', () => {
    const h = loadTestObject(['test_sock_create']).map('test_hash');
    const entries = Array.from({ length: 300 }, (_, i) => [u32(i + 100), u64(BigInt(i * 3))] as const);
    expect(h.updateBatch(entries)).toEqual({ count: 300, batched: true });
    const all = h.entries();
    expect(all.batched).toBe(true);
    expect(all.keys.length).toBe(300);
    const got = new Map(all.keys.map((k, i) => [k.readUInt32LE(), all.values[i]!.readBigUInt64LE()]));
    expect(got.get(100)).toBe(0n);
    expect(got.get(399)).toBe(897n);
    // BPF_NOEXIST/BPF_EXIST: not in the kernel's batch update, so element by element
    expect(thrown(() => h.updateBatch([[u32(100), u64(1n)]], 'noexist'))).toMatchObject({
      code: 'KERNEL_EEXIST',
    });
    expect(h.updateBatch([[u32(100), u64(7n)]], 'exist')).toEqual({ count: 1, batched: false });
    expect(h.lookup(u32(100))!.readBigUInt64LE()).toBe(7n);
    expect(h.deleteBatch(entries.slice(0, 200).map(([k]) => k))).toEqual({ count: 200, batched: true });
    expect(h.keys().length).toBe(100);
    expect(h.lookup(u32(150))).toBeNull();
    expect(h.lookup(u32(350))!.readBigUInt64LE()).toBe(750n);
  });

  it('LPM trie: batched fill, longest-prefix lookups', () => {
    const t = loadTestObject(['test_sock_create']).map('test_lpm');
    const r = t.updateBatch([
      [lpmKey(8, [10]), u32(1)],
      [lpmKey(16, [10, 1]), u32(2)],
      [lpmKey(32, [10, 1, 2, 3]), u32(3)],
    ]);
    // this kernel (6.18) has batch operations for LPM tries
    expect(r.count).toBe(3);
    expect(t.lookup(lpmKey(32, [10, 1, 2, 3]))!.readUInt32LE()).toBe(3);
    expect(t.lookup(lpmKey(32, [10, 1, 9, 9]))!.readUInt32LE()).toBe(2);
    expect(t.lookup(lpmKey(32, [10, 7, 7, 7]))!.readUInt32LE()).toBe(1);
    expect(t.lookup(lpmKey(32, [11, 0, 0, 0]))).toBeNull();
    const all = t.entries();
    expect(all.values.map((v) => v.readUInt32LE()).sort()).toEqual([1, 2, 3]);
    expect(t.deleteBatch([lpmKey(16, [10, 1])]).count).toBe(1);
    expect(t.lookup(lpmKey(32, [10, 1, 9, 9]))!.readUInt32LE()).toBe(1);
  });

  it('a map type without kernel batch operations: every batch call falls back to single elements', () => {
    const m = loadTestObject(['test_sock_create']).map('test_nobatch'); // devmap_hash, values = ifindex
    expect(m.info.typeName).toBe('devmap_hash');
    expect(
      m.updateBatch([
        [u32(1), u32(1)],
        [u32(2), u32(1)],
        [u32(3), u32(1)],
      ]),
    ).toEqual({ count: 3, batched: false });
    const all = m.entries();
    expect(all.batched).toBe(false);
    expect(all.keys.map((k) => k.readUInt32LE()).sort()).toEqual([1, 2, 3]);
    expect(m.deleteBatch([u32(1), u32(3)])).toEqual({ count: 2, batched: false });
    expect(m.keys().map((k) => k.readUInt32LE())).toEqual([2]);
    expect(thrown(() => m.deleteBatch([u32(9)]))).toMatchObject({ code: 'KERNEL_ENOENT', op: 'map_delete' });
  });

  it('per-CPU array: one value per possible CPU, counted by a raw tracepoint and a tracepoint', () => {
    const o = loadTestObject();
    const counts = o.map('test_counts');
    expect(counts.percpu).toBe(true);
    expect(counts.lookupPercpu(u32(1))!.length).toBe(numPossibleCpus());
    links.push(o.attach('test_sys_enter', { type: 'raw_tracepoint', event: 'sys_enter' }));
    links.push(o.attachTracepoint('test_openat', 'syscalls', 'sys_enter_openat'));
    for (let i = 0; i < 20; i++) closeSync(openSync('/proc/self/stat', 'r'));
    const sum = (idx: number) => counts.lookupPercpu(u32(idx))!.reduce((s, v) => s + v.readBigUInt64LE(), 0n);
    expect(sum(1)).toBeGreaterThan(20n); // our own system calls
    expect(sum(2)).toBeGreaterThanOrEqual(20n); // our own openat calls
  });
});

describe('attach', () => {
  it('cgroup/sock_create denies a raw socket inside the test cgroup only, and a link update swaps programs', async () => {
    const cg = cgroup!;
    const o = loadTestObject(['test_sock_create']);
    o.map('test_config').update(u32(0), u32(1));
    expect(
      thrown(() =>
        o.attach(
          'test_sock_create',
          { type: 'cgroup', attachType: 'cgroup_inet_ingress' },
          {
            cgroup: cg.path,
          },
        ),
      ),
    ).toBeInstanceOf(AttachSpecError);
    const link = o.attach(
      'test_sock_create',
      { type: 'cgroup', attachType: 'cgroup_inet_sock_create' },
      { cgroup: cg.path },
    );
    links.push(link);
    expect(link.info().typeName).toBe('cgroup');
    expect(await tryRawSocket(cg.path)).toBe('errno 1'); // EPERM inside
    expect(await tryRawSocket()).toBe('ok'); // allowed outside

    // generation swap: the same program from another object whose config allows
    const other = loadTestObject(['test_sock_create']);
    link.updateProgram(other.programFd('test_sock_create'));
    expect(await tryRawSocket(cg.path)).toBe('ok');
    link.updateProgram(o.programFd('test_sock_create'));
    expect(await tryRawSocket(cg.path)).toBe('errno 1');

    link.destroy();
    expect(await tryRawSocket(cg.path)).toBe('ok'); // detached
    expect(thrown(() => link.info())).toMatchObject({ code: 'KERNEL_EBADF' });
  });

  it('kprobe: the program loads, attaching fails with a typed error (no kprobes on this host)', () => {
    const o = loadTestObject(['test_kprobe']);
    const e = thrown(() => o.attachKprobe('test_kprobe', 'do_nanosleep', { cookie: MAGIC }));
    expect(e).toBeInstanceOf(KernelError);
    expect(e).toMatchObject({ op: 'attach_kprobe' });
  });
});

describe('ring buffer', () => {
  interface Exec {
    tgid: number;
    ppid: number;
    magic: bigint;
  }
  /** struct test_event { u32 pid, tgid, ppid, pad; u64 magic; char comm[16]; } */
  const decode = (r: Buffer): Exec => ({
    tgid: r.readUInt32LE(4),
    ppid: r.readUInt32LE(8),
    magic: r.readBigUInt64LE(16),
  });
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  };
  const execTrue = (n: number) => {
    const pids: number[] = [];
    for (let i = 0; i < n; i++) pids.push(Number(execFileSync('sh', ['-c', 'echo $$']).toString().trim()));
    return pids;
  };

  it('delivers exec records in batches through the event loop', async () => {
    const o = loadTestObject(['test_exec']);
    const batches: RecordBatch[] = [];
    const reader = RingBufferReader.open(o.map('test_events'), (b) => batches.push(b));
    readers.push(reader);
    expect(
      thrown(() => o.attach('test_exec', { type: 'tp_btf', event: 'sched_process_fork' })),
    ).toBeInstanceOf(AttachSpecError);
    links.push(o.attach('test_exec', { type: 'tp_btf', event: 'sched_process_exec' }));
    // the loop is blocked while these run, so their records wait in the ring together
    const pids = execTrue(12);
    expect(batches.length).toBe(0);
    const ours = () => batches.flatMap((b) => b.toArray().map(decode)).filter((e) => pids.includes(e.tgid));
    await until(() => ours().length >= pids.length);
    expect(
      ours()
        .map((e) => e.tgid)
        .sort(),
    ).toEqual([...pids].sort());
    expect(ours().every((e) => e.magic === MAGIC && e.ppid === process.pid)).toBe(true);
    // one callback carried all of them
    expect(batches.some((b) => b.toArray().filter((r) => pids.includes(decode(r).tgid)).length === 12)).toBe(
      true,
    );
    expect(reader.delivered).toBeGreaterThanOrEqual(12);
    reader.close();
    reader.close();
  });

  it('takes records nobody was woken for every drainMs, and only with it', async () => {
    const o = loadTestObject(['test_exec_quiet']);
    const woken: number[] = [];
    const drained: number[] = [];
    const plain = RingBufferReader.open(o.map('test_events'), (b) => {
      for (const r of b) woken.push(decode(r).tgid);
    });
    readers.push(plain);
    links.push(o.attachTrace('test_exec_quiet'));
    const pids = execTrue(4);
    // no wake-up: the plain reader is never called
    await new Promise((r) => setTimeout(r, 300));
    expect(woken.filter((p) => pids.includes(p))).toEqual([]);
    plain.close();
    const reader = RingBufferReader.open(
      o.map('test_events'),
      (b) => {
        for (const r of b) drained.push(decode(r).tgid);
      },
      { drainMs: 20 },
    );
    readers.push(reader);
    await until(() => pids.every((p) => drained.includes(p)));
    expect(drained.filter((p) => pids.includes(p)).sort()).toEqual([...pids].sort());
    reader.close();
    // closed: the timer is gone with it
    const more = execTrue(2);
    await new Promise((r) => setTimeout(r, 100));
    expect(drained.filter((p) => more.includes(p))).toEqual([]);
  });

  it('bounds a batch to maxBatch records and comes back for the rest', async () => {
    const o = loadTestObject(['test_exec']);
    const sizes: number[] = [];
    const seen = new Set<number>();
    const reader = RingBufferReader.open(
      o.map('test_events'),
      (b) => {
        sizes.push(b.count);
        for (const r of b) seen.add(decode(r).tgid);
      },
      { maxBatch: 3 },
    );
    readers.push(reader);
    links.push(o.attachTrace('test_exec'));
    const pids = execTrue(10);
    await until(() => pids.every((p) => seen.has(p)));
    expect(pids.every((p) => seen.has(p))).toBe(true);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    expect(sizes.length).toBeGreaterThanOrEqual(4);
    reader.close();
  });

  it('closes cleanly from inside its callback; a synchronous consume drains', async () => {
    const o = loadTestObject(['test_exec']);
    let calls = 0;
    const reader = RingBufferReader.open(
      o.map('test_events'),
      () => {
        calls++;
        reader.close();
      },
      { maxBatch: 1 },
    );
    readers.push(reader);
    const link = o.attachTrace('test_exec');
    links.push(link);
    execTrue(3);
    await until(() => calls > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(1);
    expect(reader.closed).toBe(true);
    expect(thrown(() => reader.consume())).toMatchObject({ code: 'KERNEL_EBADF' });

    // a second reader on the same ring takes what is left, synchronously
    const drain = RingBufferReader.open(o.map('test_events'), () => {}, { ref: false });
    readers.push(drain);
    const left = drain.consume();
    expect(left.count).toBeGreaterThanOrEqual(2);
    drain.close();
  });
});

describe('pins', () => {
  it('pins a map and a link, reopens them, adopts the pinned map on load, unpins', () => {
    const o = loadTestObject(['test_sock_create', 'test_exec']);
    const h = o.map('test_hash');
    h.update(u32(42), u64(4242n));
    const mapPin = `${PIN_DIR}/test_hash`;
    h.pin(mapPin);
    expect(existsSync(mapPin)).toBe(true);

    const adopted = BpfMap.openPinned(mapPin);
    maps.push(adopted);
    expect(adopted.info.id).toBe(h.info.id);
    expect(adopted.lookup(u32(42))!.readBigUInt64LE()).toBe(4242n);

    // a restarted daemon: a new object adopts the pinned map at load (by pin path, or by fd)
    const again = open();
    again.loadOnly(['test_sock_create']);
    again.setPinPath('test_hash', mapPin);
    again.load();
    expect(again.map('test_hash').info.id).toBe(h.info.id);
    const third = open();
    third.loadOnly(['test_sock_create']);
    third.reuseMap('test_hash', adopted);
    third.load();
    expect(third.map('test_hash').lookup(u32(42))!.readBigUInt64LE()).toBe(4242n);

    const link = o.attachTrace('test_exec');
    links.push(link);
    const linkPin = `${PIN_DIR}/exec_link`;
    link.pin(linkPin);
    const progId = link.info().progId;
    link.destroy(); // pinned: stays attached
    const back = BpfLink.openPinned(linkPin);
    links.push(back);
    expect(back.info().progId).toBe(progId);
    back.unpin();
    expect(existsSync(linkPin)).toBe(false);
    back.destroy();

    adopted.close();
    expect(thrown(() => adopted.lookup(u32(42)))).toMatchObject({ code: 'KERNEL_EBADF' });
    unpin(mapPin);
    expect(existsSync(mapPin)).toBe(false);
    expect(thrown(() => unpin(mapPin))).toMatchObject({ code: 'KERNEL_ENOENT' });
  });
});
