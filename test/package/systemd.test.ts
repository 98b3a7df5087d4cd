// The shipped systemd unit, as it ships, under a real systemd (PID 1 of a
// Debian 12 container): the package's own configuration (audit mode, the
// bundled policies, pins.protect off: BPF-LSM is not needed to start), its
// own pin root in a bpffs private to the container. One drop-in scopes
// the cgroup programs to a cgroup this test made, so nothing attaches at this
// host's cgroup root (it also records the exit status, from ExecStopPost).
// The unit's promises are checked on the running daemon: active, the audit
// start-up record in the journal, OOMScoreAdjust (-1000 where root holds
// CAP_SYS_RESOURCE; refused on a host whose root does not), owner-only
// runtime, state and cache directories, pins where the daemon pins by
// default; then an orderly stop (exit status 0) that leaves the pins
// (--keep-enforcing) until bpfgate unload removes them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroup2Root, createCgroup, type TestCgroup } from '../support/cgroup.ts';
import { runCommand } from '../support/child.ts';
import { type ContainerShell, docker, packageArtefacts, startSystemdContainer } from '../support/docker.ts';
import { waitFor } from '../support/wait.ts';

const NAME = `bpfgate-systemd-${process.pid}`;
/** the daemon's default pin root (the unit names none), in the container's own bpffs */
const PINS = '/sys/fs/bpf/bpfgate';
let cg: TestCgroup;
let sh: ContainerShell;

const journal = async () => (await sh('journalctl -u bpfgate -o cat --no-pager')).stdout;
/** ids of the programs attached to a cgroup of this host (bpftool, on the host) */
async function attachedIds(path: string): Promise<number[]> {
  const r = await runCommand(['bpftool', '-j', 'cgroup', 'show', path]);
  if (r.code !== 0) throw new Error(`bpftool cgroup show ${path}: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim() || '[]') as { id: number }[]).map((p) => p.id);
}

beforeAll(async () => {
  const { deb } = await packageArtefacts();
  cg = createCgroup(NAME);
  sh = await startSystemdContainer(NAME, deb);
  const dropIn = [
    '[Service]',
    `Environment=BPFGATE_CGROUP=${cg.path}`,
    // how the main process ended, as systemd tells ExecStopPost (run outside the sandbox: +)
    "ExecStopPost=+/bin/sh -c 'echo $$SERVICE_RESULT $$EXIT_CODE $$EXIT_STATUS > /run/bpfgate-test-exit'",
  ].join('\n');
  const setup = [
    // a bpffs of the container's own over the host's: the pins die with the container
    'mount -t bpf bpf /sys/fs/bpf',
    'dpkg -i /pkg/bpfgate.deb',
    'mkdir -p /etc/systemd/system/bpfgate.service.d',
    `cat > /etc/systemd/system/bpfgate.service.d/test-scope.conf <<'EOF'\n${dropIn}\nEOF\nsystemctl daemon-reload`,
  ].join(' && ');
  const r = await sh(setup);
  if (r.code !== 0) throw new Error(`container set-up: ${r.stdout}${r.stderr}`);
}, 300_000);

afterAll(async () => {
  await docker(['rm', '-f', NAME]);
  await cg?.remove();
});

describe('the shipped systemd unit under a real systemd', () => {
  it('starts with the package configuration: audit mode, the bundled policies, no BPF-LSM needed', async () => {
    // the configuration is the package's, untouched
    expect((await sh('grep -c "^mode: audit" /etc/bpfgate/config.yaml')).stdout.trim()).toBe('1');
    expect((await sh('grep -c "protect" /etc/bpfgate/config.yaml')).stdout.trim()).toBe('0');
    const r = await sh('systemctl start bpfgate');
    expect(r.code, r.stderr).toBe(0);
    await waitFor(async () => (await journal()).includes('"ready":true'), 90_000, 'the daemon ready');
    expect((await sh('systemctl is-active bpfgate')).stdout.trim()).toBe('active');
    const ready = (await journal())
      .split('\n')
      .filter((l) => l.includes('"ready":true'))
      .map((l) => JSON.parse(l) as { state: string; msg: string; rules: number });
    expect(ready).toHaveLength(1);
    // never more than it does: audit mode says so, not "enforcing"
    expect(ready[0]).toMatchObject({ state: 'audit', mode: 'audit', cgroupAttach: cg.path });
    expect(ready[0]!.rules).toBeGreaterThan(10);
    expect(ready[0]!.msg).toContain('audit mode: nothing is denied or killed');
  });

  it('runs as the unit says: OOMScoreAdjust, owner-only directories, pins under the default root', async () => {
    const pid = Number((await sh('systemctl show bpfgate -p MainPID --value')).stdout.trim());
    expect(pid).toBeGreaterThan(1);
    // OOMScoreAdjust=-1000, applied where the kernel lets root lower oom_score_adj (CAP_SYS_RESOURCE);
    // this host's root lacks that capability: systemd's attempt is refused and the daemon keeps 0
    expect((await sh('systemctl show bpfgate -p OOMScoreAdjust --value')).stdout.trim()).toBe('-1000');
    const mayLower = (await sh('echo -1000 > /proc/self/oom_score_adj')).code === 0;
    expect((await sh(`cat /proc/${pid}/oom_score_adj`)).stdout.trim()).toBe(mayLower ? '-1000' : '0');
    // the unit's ExecStart: the package's own Node.js runs bpfgate
    expect((await sh(`readlink /proc/${pid}/exe`)).stdout.trim()).toBe('/usr/lib/bpfgate/node/bin/node');
    expect((await sh('stat -c %n:%a:%U:%F /run/bpfgate /var/lib/bpfgate /var/cache/bpfgate')).stdout).toBe(
      [
        '/run/bpfgate:700:root:directory',
        '/var/lib/bpfgate:700:root:directory',
        '/var/cache/bpfgate:700:root:directory',
        '',
      ].join('\n'),
    );
    expect((await sh('stat -c %a:%F /run/bpfgate/events.sock')).stdout).toBe('600:socket\n');
    // pinned maps and links under the default root, in the container's bpffs
    expect((await sh(`stat -f -c %T ${PINS}`)).stdout.trim()).toBe('bpf_fs');
    expect(Number((await sh(`find ${PINS} -mindepth 1 | wc -l`)).stdout.trim())).toBeGreaterThan(0);
    // the drop-in's scope held: the cgroup programs are on the test's cgroup, none of them at the root
    const scoped = await attachedIds(cg.path);
    expect(scoped.length).toBeGreaterThan(0);
    const root = await attachedIds(cgroup2Root());
    expect(root.filter((id) => scoped.includes(id))).toEqual([]);
  });

  it('systemctl stop ends it cleanly (exit status 0); the pins stay (--keep-enforcing) until bpfgate unload', async () => {
    const r = await sh('systemctl stop bpfgate');
    expect(r.code, r.stderr).toBe(0);
    expect((await sh('systemctl is-active bpfgate')).stdout.trim()).toBe('inactive');
    // exited with status 0 (not killed by SIGTERM, which systemd would also count a success)
    expect((await sh('cat /run/bpfgate-test-exit')).stdout).toBe('success exited 0\n');
    expect(await journal()).toContain('the pinned programs keep enforcing');
    expect(Number((await sh(`find ${PINS} -mindepth 1 | wc -l`)).stdout.trim())).toBeGreaterThan(0);
    expect((await attachedIds(cg.path)).length).toBeGreaterThan(0);
    const u = await sh('bpfgate unload');
    expect(u.code, u.stderr).toBe(0);
    expect((await sh(`test -e ${PINS}`)).code).not.toBe(0);
    expect(await attachedIds(cg.path)).toEqual([]);
  });
});
