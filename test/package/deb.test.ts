// The Debian package, installed for real: in a Debian 12 container, dpkg -i
// with nothing but its declared dependency; bpfgate on PATH with its own
// Node.js 24; doctor probing this kernel; the systemd unit verified and
// started by a real systemd (PID 1 of the container) under
// ProtectSystem=strict, enforcing a rule scoped to a cgroup this test made,
// kept enforcing across a stop, and unloaded when the package is removed.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroup, rawSocketPolicy, type TestCgroup, tryRawSocket } from '../support/cgroup.ts';
import {
  type ContainerShell,
  DEBIAN_IMAGE,
  docker,
  packageArtefacts,
  privileged,
  startSystemdContainer,
} from '../support/docker.ts';
import { PROJECT_ROOT } from '../support/paths.ts';
import { waitFor } from '../support/wait.ts';

const NAME = `bpfgate-deb-${process.pid}`;
const PINS = `/sys/fs/bpf/${NAME}`;
let deb: string;
let cg: TestCgroup;
let sh: ContainerShell;

beforeAll(async () => {
  ({ deb } = await packageArtefacts());
  cg = createCgroup(NAME);
  sh = await startSystemdContainer(NAME, deb);
}, 300_000);

afterAll(async () => {
  await docker(['rm', '-f', NAME]);
  if (existsSync(PINS)) await docker(['run', '--rm', ...privileged(), DEBIAN_IMAGE, 'rm', '-rf', PINS]);
  await cg?.remove();
});

describe('the Debian package', () => {
  it('is named after the version and installs with dpkg -i alone', async () => {
    expect(deb).toMatch(new RegExp(`${PROJECT_ROOT}/dist/bpfgate_\\d+\\.\\d+\\.\\d+_amd64\\.deb$`));
    const r = await sh('dpkg -i /pkg/bpfgate.deb');
    expect(r.code, r.stderr).toBe(0);
    const v = await sh('command -v bpfgate && bpfgate --version && /usr/lib/bpfgate/node/bin/node --version');
    expect(v.stdout).toMatch(/^\/usr\/bin\/bpfgate\nbpfgate \d+\.\d+\.\d+ \(Node\.js 24\.\d+\.\d+\)\nv24\./);
    // the system's Node is not used (the container has none)
    expect((await sh('command -v node')).code).not.toBe(0);
    // nothing is written beside the installed files; compiled code is cached under /var/cache
    expect((await sh('ls -a /usr/lib/bpfgate')).stdout).not.toContain('.cache');
    expect((await sh('ls /var/cache/bpfgate/node-compile-cache')).code).toBe(0);
  });

  it('ships its policies, schemas and configuration, and they validate', async () => {
    const r = await sh('bpfgate validate /etc/bpfgate/policies && ls /usr/lib/bpfgate/schemas');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^valid: \d+ policies/);
    expect(r.stdout).toContain('policy.schema.json');
    expect((await sh('grep -c "^mode: audit" /etc/bpfgate/config.yaml')).stdout.trim()).toBe('1');
  });

  it('bpfgate doctor probes this kernel with the packaged addon and BPF object', async () => {
    const r = await sh('bpfgate doctor --json');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      features: { cgroup2: { available: boolean } };
      matrix: { rows: unknown[] };
    };
    expect(doc.features.cgroup2.available).toBe(true);
    expect(doc.matrix.rows.length).toBeGreaterThan(10);
  });

  it('its systemd unit passes systemd-analyze verify', async () => {
    const r = await sh('systemd-analyze verify /lib/systemd/system/bpfgate.service');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('systemctl start: the daemon runs under the unit (ProtectSystem=strict, /run/bpfgate) and enforces', async () => {
    // a configuration scoped to this test's cgroup, and its own pin root
    const config = [
      'policies: [/etc/bpfgate/test-policies]',
      'mode: enforce',
      `cgroupAttach: ${cg.path}`,
      `pins: { root: ${PINS} }`,
    ].join('\n');
    const policy = rawSocketPolicy('deb-raw', cg);
    const w = await sh(
      `mkdir -p /etc/bpfgate/test-policies && printf '%s\\n' '${config}' > /etc/bpfgate/config.yaml && printf '%s' '${policy}' > /etc/bpfgate/test-policies/raw.yaml && systemctl start bpfgate`,
    );
    expect(w.code, w.stderr).toBe(0);
    await waitFor(
      async () => (await sh('journalctl -u bpfgate -o cat')).stdout.includes('"ready":true'),
      60_000,
      'the daemon ready',
    );
    expect((await sh('systemctl is-active bpfgate')).stdout.trim()).toBe('active');
    const journal = (await sh('journalctl -u bpfgate -o cat')).stdout;
    expect(journal).toContain('"msg":"bpfgate is enforcing"');
    // /run/bpfgate exists and is the daemon's under ProtectSystem=strict: its event socket is there
    expect((await sh('stat -c %a:%F /run/bpfgate /run/bpfgate/events.sock')).stdout).toBe(
      '700:directory\n600:socket\n',
    );
    expect(await tryRawSocket(cg.path)).toBe('errno 1');
    expect(await tryRawSocket()).toBe('ok');
  });

  it('systemctl stop keeps enforcing (--keep-enforcing); removing the package unloads', async () => {
    expect((await sh('systemctl stop bpfgate && systemctl is-active bpfgate')).stdout.trim()).toBe(
      'inactive',
    );
    expect(await tryRawSocket(cg.path)).toBe('errno 1');
    expect((await sh('journalctl -u bpfgate -o cat')).stdout).toContain('the pinned programs keep enforcing');
    const r = await sh('dpkg -r bpfgate');
    expect(r.code, r.stderr).toBe(0);
    expect(await tryRawSocket(cg.path)).toBe('ok');
    expect(existsSync(PINS)).toBe(false);
  });
});
