import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { containerFromCgroup, Enricher, Lru, parseCmdline, parsePasswd } from '../../../src/events/enrich.ts';
import { findCgroup2Mount } from '../../../src/kernel/cgroups.ts';
import { record } from '../../support/events.ts';

const tmp = mkdtempSync(join(tmpdir(), 'bpfgate-enrich-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ID = 'ab'.repeat(32);

describe('container ids from cgroup paths', () => {
  it.each([
    [`/system.slice/docker-${ID}.scope`, 'docker'],
    [`/docker/${ID}`, 'docker'],
    [`/system.slice/cri-containerd-${ID}.scope`, 'containerd'],
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/crio-${ID}.scope`, 'cri-o'],
    [`/machine.slice/libpod-${ID}.scope/container`, 'podman'],
    [`/kubepods/besteffort/pod0a1b/${ID}`, 'kubernetes'],
  ])('%s', (path, runtime) => {
    expect(containerFromCgroup(path)).toEqual({ id: ID, runtime });
  });
  it('none on a host service', () => {
    expect(containerFromCgroup('/system.slice/sshd.service')).toBeUndefined();
  });
});

describe('parsers', () => {
  it('cmdline is bounded in count and bytes', () => {
    const buf = Buffer.from(['a', 'bb', 'ccc', 'dddd'].join('\0') + '\0');
    expect(parseCmdline(buf)).toEqual({ args: ['a', 'bb', 'ccc', 'dddd'], truncated: false });
    expect(parseCmdline(buf, 2)).toEqual({ args: ['a', 'bb'], truncated: true });
    expect(parseCmdline(buf, 64, 5)).toEqual({ args: ['a', 'bb', 'cc'], truncated: true });
  });
  it('passwd', () => {
    expect(
      parsePasswd('root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/a:/bin/sh\n#bad\n').get(1000),
    ).toBe('alice');
  });
  it('the LRU keeps the most recently used', () => {
    const l = new Lru<number, string>(2);
    l.set(1, 'a');
    l.set(2, 'b');
    l.get(1);
    l.set(3, 'c');
    expect([l.get(1), l.get(2), l.get(3)]).toEqual(['a', undefined, 'c']);
  });
});

/** A passwd file naming this test's user 'tester'. */
function testerPasswd(name: string): string {
  const passwd = join(tmp, name);
  writeFileSync(passwd, `tester:x:${process.getuid!()}:0::/:/bin/sh\n`);
  return passwd;
}

/** A file record from this very process. */
const selfRecord = (cgroupId?: bigint) =>
  record('file', {
    tgid: process.pid,
    pid: process.pid,
    ppid: process.ppid,
    uid: process.getuid!(),
    ...(cgroupId !== undefined ? { cgroupId } : {}),
  });

describe('Enricher', () => {
  it('reads this very process from /proc', async () => {
    const e = new Enricher({ passwdFile: testerPasswd('passwd') });
    await e.start();
    const r = selfRecord();
    const out = await e.enrich(r);
    expect(out.executable).toBe(process.execPath);
    expect(out.args?.[0]).toMatch(/node/);
    expect(out.user).toBe('tester');
    expect(typeof out.parentExecutable).toBe('string');
    await e.enrich(r);
    expect(e.stats().processCacheHits).toBe(1);
    e.stop();
  });

  it('answers from its caches without a promise exactly what enrich() answers, and only then', async () => {
    const root = join(tmp, 'cg-cached');
    mkdirSync(join(root, 'app'), { recursive: true });
    const e = new Enricher({ passwdFile: testerPasswd('passwd-cached'), cgroupRoot: root });
    await e.start();
    const r = selfRecord(statSync(join(root, 'app'), { bigint: true }).ino);
    // nothing read yet: the process must come from /proc
    expect(e.cached(r)).toBeUndefined();
    const read = await e.enrich(r);
    expect(read.cgroupPath).toBe('/app');
    expect(e.cached(r)).toEqual(read);
    // a cgroup the walk has not seen, an exec (a new image), another process: a read is due
    expect(e.cached({ ...r, cgroupId: 1n })).toBeUndefined();
    expect(e.cached({ ...r, kind: 'exec', op: 0 })).toBeUndefined();
    // a file mapped executable (exec's op 1, mmap) does not replace the image: the cache answers
    expect(e.cached({ ...r, kind: 'exec', op: 1 })).toEqual(read);
    expect(e.cached({ ...r, tgid: 0x3ffffff0 })).toBeUndefined();
    e.stop();
    expect(e.cached(r)).toBeUndefined();
  });

  it('a process that already exited yields nothing, without failing', async () => {
    const e = new Enricher({ passwdFile: join(tmp, 'none'), cgroupRoot: join(tmp, 'none') });
    await e.start();
    const out = await e.enrich(
      record('exec', { tgid: 0x3ffffff0, ppid: 0x3ffffff1, uid: 54321, cgroupId: 1n }),
    );
    expect(out).toEqual({});
  });

  it('maps a cgroup id (inode) to its path, walking again on a miss', async () => {
    const root = join(tmp, 'cg');
    mkdirSync(join(root, 'system.slice', `docker-${ID}.scope`), { recursive: true });
    const e = new Enricher({ cgroupRoot: root, procDir: join(tmp, 'noproc') });
    await e.start();
    const ino = statSync(join(root, 'system.slice', `docker-${ID}.scope`), { bigint: true }).ino;
    const out = await e.enrich(record('exec', { cgroupId: ino }));
    expect(out.cgroupPath).toBe(`/system.slice/docker-${ID}.scope`);
    expect(out).toMatchObject({ containerId: ID, containerRuntime: 'docker' });
    // a cgroup created later is found by the next walk
    mkdirSync(join(root, 'late.slice'));
    await new Promise((r) => setTimeout(r, 1100));
    const late = statSync(join(root, 'late.slice'), { bigint: true }).ino;
    expect(await e.cgroupPath(late)).toBe('/late.slice');
    expect(e.stats().cgroupWalks).toBe(2);
  });

  it('on this machine: the test’s own cgroup v2 id resolves to its path', async () => {
    const mount = findCgroup2Mount();
    expect(mount).toBeDefined();
    const rel = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/';
    const ino = statSync(join(mount!, rel), { bigint: true }).ino;
    const e = new Enricher();
    await e.start();
    expect(await e.cgroupPath(ino)).toBe(rel);
  });
});
