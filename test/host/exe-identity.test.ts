// Executables are files (src/kernel/exe-identities.ts, bg_tp_exec), on this
// machine's kernel with the real daemon scoped to a cgroup of the test's own:
//   npx vitest run --project host test/host/exe-identity.test.ts
// The adversarial cases exe-bind-over-trusted and exe-chroot-same-name show
// that another file under the excepted name gains nothing; this file shows the
// other half: the excepted file by another name (a hard link) is still that
// executable, a copy is not, a binary replaced under its name (an upgrade) is
// resolved again at once (the directory is watched), and a named path this
// host does not have is said to be matched by name only. And an exception
// pinned by digest holds for the file only while it has that content: the
// kernel compares the change time measured with the file's at each exec.
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  linkSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAttacks } from '../support/attacks.ts';
import { attemptIn, createCgroup, type TestCgroup } from '../support/cgroup.ts';
import { DaemonProcess, scopedArgs } from '../support/daemon.ts';

const NAME = 'bpfgate-test-exeid';

/**
 * A daemon enforcing one rule (raw sockets blocked) in a cgroup of the test's
 * own, whose `unless.executables` is `exempt` (YAML, indented for the key);
 * `files` makes the programs in the test's folder first (the attack program
 * given), before the daemon resolves them.
 */
function exemptRawSockets(
  suffix: string,
  files: (dir: string, attack: string) => void,
  exempt: (dir: string) => string,
) {
  const t = {
    cg: null as unknown as TestCgroup,
    dir: '',
    daemon: null as DaemonProcess | null,
    rawSocket: async (program: string) => (await attemptIn([program, 'raw_socket'], t.cg.path)).stdout.trim(),
  };
  beforeAll(async () => {
    const { attack } = buildAttacks();
    t.cg = createCgroup(`${NAME}${suffix}`);
    t.dir = mkdtempSync(join(tmpdir(), `bpfgate-exeid${suffix}-`));
    files(t.dir, attack);
    writeFileSync(
      join(t.dir, 'exe.yaml'),
      `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: exe-identity${suffix} }
spec:
  scope: { cgroups: [${t.cg.rel}] }
  rules:
    - id: raw
      kind: socket
      action: block
      match: { families: [inet], types: [raw] }
      unless:
        executables: ${exempt(t.dir)}
`,
    );
    t.daemon = await DaemonProcess.start(scopedArgs(join(t.dir, 'exe.yaml'), t.cg.path));
  });
  afterAll(async () => {
    if (t.daemon?.running) expect((await t.daemon.stop('SIGTERM')).code).toBe(0);
    t.cg?.remove();
    if (t.dir) rmSync(t.dir, { recursive: true, force: true });
  });
  return t;
}

describe('unless.executables names a file, not a name', () => {
  const t = exemptRawSockets(
    '',
    (dir, attack) => {
      copyFileSync(attack, join(dir, 'trusted'));
      copyFileSync(attack, join(dir, 'copy'));
      linkSync(join(dir, 'trusted'), join(dir, 'alias'));
    },
    (dir) => `[${join(dir, 'trusted')}, /only/in/containers/tool]`,
  );

  it('the excepted file is excepted by its name and by a hard link; a copy is not', async () => {
    expect(await t.rawSocket(join(t.dir, 'trusted'))).toBe('ok');
    expect(await t.rawSocket(join(t.dir, 'alias'))).toBe('ok');
    expect(await t.rawSocket(join(t.dir, 'copy'))).toBe('errno 1 EPERM');
  });

  it('a named path this host does not have is said to be matched by path only', () => {
    const w = t.daemon!.logs.find((l) => String(l.msg).includes('matched by path only'));
    expect(w?.executables).toEqual(['/only/in/containers/tool']);
  });

  it('a binary replaced under the excepted name (an upgrade) is that executable again at once, not after the periodic check', async () => {
    copyFileSync(join(t.dir, 'copy'), join(t.dir, 'trusted.new'));
    const replaced = Date.now();
    renameSync(join(t.dir, 'trusted.new'), join(t.dir, 'trusted'));
    const log = await t.daemon!.until(
      () => t.daemon!.logs.find((l) => String(l.msg).startsWith('executable identities re-resolved')),
      'the identities resolved again',
      5000,
    );
    expect(Number(log.time) - replaced).toBeLessThan(2000);
    expect(await t.rawSocket(join(t.dir, 'trusted'))).toBe('ok');
    // the old file (still reached by its hard link) is not the named executable any more
    expect(await t.rawSocket(join(t.dir, 'alias'))).toBe('errno 1 EPERM');
  });
});

describe('unless.executables pinned by digest: the file, only while it has that content', () => {
  let digest = '';
  const t = exemptRawSockets(
    '-pin',
    (dir, attack) => {
      digest = createHash('sha256').update(readFileSync(attack)).digest('hex');
      copyFileSync(attack, join(dir, 'pinned'));
      copyFileSync(attack, join(dir, 'wrong'));
    },
    (dir) => `
          - { path: ${join(dir, 'pinned')}, sha256: [${digest}] }
          - { path: ${join(dir, 'wrong')}, sha256: [${'f'.repeat(64)}] }`,
  );
  const pinsLog = (msg: string, since: number) =>
    t.daemon!.logs.slice(since).find((l) => String(l.msg).startsWith(msg)) as
      | { executables?: { path: string; reason: string }[] }
      | undefined;

  it('the file with the pinned content is excepted; one with another content is not, and the log says why', async () => {
    expect(await t.rawSocket(join(t.dir, 'pinned'))).toBe('ok');
    expect(await t.rawSocket(join(t.dir, 'wrong'))).toBe('errno 1 EPERM');
    expect(pinsLog('pinned executables not verified', 0)?.executables).toEqual([
      { path: join(t.dir, 'wrong'), reason: `another digest (sha256 ${digest})` },
    ]);
  });

  it('a file open for writing is not measured; once closed it is not excepted until measured again', async () => {
    const since = t.daemon!.logs.length;
    const fd = openSync(join(t.dir, 'pinned'), 'r+');
    try {
      // the same byte again: the content is unchanged, the change time moves
      writeSync(fd, readFileSync(join(t.dir, 'pinned')).subarray(0, 1), 0, 1, 0);
      const said = await t.daemon!.until(
        () => pinsLog('pinned executables not verified', since),
        'the pinned file reported as being written',
        5000,
      );
      expect(said.executables).toContainEqual({
        path: join(t.dir, 'pinned'),
        reason: 'being written (open for writing)',
      });
    } finally {
      closeSync(fd);
    }
    expect(await t.rawSocket(join(t.dir, 'pinned'))).toBe('errno 1 EPERM');
    // the periodic resolution (every 10 s) measures it again: the same content, excepted again
    const closed = t.daemon!.logs.length;
    const again = await t.daemon!.until(
      () => pinsLog('pinned executables not verified', closed),
      'the pinned file measured again',
      15000,
    );
    expect(again.executables?.map((e) => e.path)).toEqual([join(t.dir, 'wrong')]);
    expect(await t.rawSocket(join(t.dir, 'pinned'))).toBe('ok');
  });

  it('the excepted file rewritten in place (the same inode) is not excepted: at once, by its change time', async () => {
    appendFileSync(join(t.dir, 'pinned'), 'x');
    expect(await t.rawSocket(join(t.dir, 'pinned'))).toBe('errno 1 EPERM');
  });
});
