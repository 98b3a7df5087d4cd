// Executables are files (src/kernel/exe-identities.ts, bg_tp_exec), on this
// machine's kernel with the real daemon scoped to a cgroup of the test's own:
//   npx vitest run --project host test/host/exe-identity.test.ts
// The adversarial cases exe-bind-over-trusted and exe-chroot-same-name show
// that another file under the excepted name gains nothing; this file shows the
// other half: the excepted file by another name (a hard link) is still that
// executable, a copy is not, a binary replaced under its name (an upgrade) is
// resolved again at once (the directory is watched), and a named path this
// host does not have is said to be matched by name only.
import { copyFileSync, linkSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAttacks } from '../support/attacks.ts';
import { attemptIn, createCgroup, type TestCgroup } from '../support/cgroup.ts';
import { DaemonProcess, scopedArgs } from '../support/daemon.ts';

const NAME = 'bpfgate-test-exeid';

describe('unless.executables names a file, not a name', () => {
  let cg: TestCgroup;
  let dir: string;
  let daemon: DaemonProcess | null = null;
  const rawSocket = async (program: string) =>
    (await attemptIn([program, 'raw_socket'], cg.path)).stdout.trim();

  beforeAll(async () => {
    const { attack } = buildAttacks();
    cg = createCgroup(NAME);
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-exeid-'));
    copyFileSync(attack, join(dir, 'trusted'));
    copyFileSync(attack, join(dir, 'copy'));
    linkSync(join(dir, 'trusted'), join(dir, 'alias'));
    writeFileSync(
      join(dir, 'exe.yaml'),
      `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: exe-identity }
spec:
  scope: { cgroups: [${cg.rel}] }
  rules:
    - id: raw
      kind: socket
      action: block
      match: { families: [inet], types: [raw] }
      unless: { executables: [${join(dir, 'trusted')}, /only/in/containers/tool] }
`,
    );
    daemon = await DaemonProcess.start(scopedArgs(join(dir, 'exe.yaml'), cg.path));
  });

  afterAll(async () => {
    if (daemon?.running) expect((await daemon.stop('SIGTERM')).code).toBe(0);
    cg?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the excepted file is excepted by its name and by a hard link; a copy is not', async () => {
    expect(await rawSocket(join(dir, 'trusted'))).toBe('ok');
    expect(await rawSocket(join(dir, 'alias'))).toBe('ok');
    expect(await rawSocket(join(dir, 'copy'))).toBe('errno 1 EPERM');
  });

  it('a named path this host does not have is said to be matched by path only', () => {
    const w = daemon!.logs.find((l) => String(l.msg).includes('matched by path only'));
    expect(w?.executables).toEqual(['/only/in/containers/tool']);
  });

  it('a binary replaced under the excepted name (an upgrade) is that executable again at once, not after the periodic check', async () => {
    copyFileSync(join(dir, 'copy'), join(dir, 'trusted.new'));
    const replaced = Date.now();
    renameSync(join(dir, 'trusted.new'), join(dir, 'trusted'));
    const log = await daemon!.until(
      () => daemon!.logs.find((l) => String(l.msg).startsWith('executable identities re-resolved')),
      'the identities resolved again',
      5000,
    );
    expect(Number(log.time) - replaced).toBeLessThan(2000);
    expect(await rawSocket(join(dir, 'trusted'))).toBe('ok');
    // the old file (still reached by its hard link) is not the named executable any more
    expect(await rawSocket(join(dir, 'alias'))).toBe('errno 1 EPERM');
  });
});
