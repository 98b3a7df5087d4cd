// The container image, built FROM scratch from the package's files (nothing
// pulled): run as the peers' DaemonSets run theirs, with every capability,
// the host's bpffs, cgroups and pid namespace, it enforces a rule scoped to
// a cgroup this test made on this host, reports the violation on its stdout,
// and detaches when the container stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroup, rawSocketPolicyDir, type TestCgroup, tryRawSocket } from '../support/cgroup.ts';
import { docker, dockerOk, packageArtefacts, runPrivileged } from '../support/docker.ts';
import { waitFor } from '../support/wait.ts';

const NAME = `bpfgate-image-${process.pid}`;
let image: string;
let cg: TestCgroup;

beforeAll(async () => {
  ({ image } = await packageArtefacts());
  cg = createCgroup(NAME);
}, 300_000);

afterAll(async () => {
  await docker(['rm', '-f', NAME]);
  await cg?.remove();
});

describe('the bpfgate image', () => {
  it('is FROM scratch: no shell, no package manager, only bpfgate and the libraries it loads', async () => {
    // one layer: the COPY of the staged files onto nothing
    expect((await dockerOk(['image', 'inspect', '--format', '{{len .RootFS.Layers}}', image])).trim()).toBe(
      '1',
    );
    const r = await docker([
      'run',
      '--rm',
      '--pull',
      'never',
      '--network',
      'none',
      '--entrypoint',
      '/bin/sh',
      image,
      '-c',
      'true',
    ]);
    expect(r.code).not.toBe(0);
    const v = await docker(['run', '--rm', '--pull', 'never', '--network', 'none', image, '--version']);
    expect(v.stdout).toMatch(/^bpfgate \d+\.\d+\.\d+ \(Node\.js 24\./);
  });

  it('enforces a scoped rule on this host, privileged with the host bpffs, cgroups and /proc', async () => {
    const dir = rawSocketPolicyDir('image-raw', cg);
    await runPrivileged(NAME, [
      '--pid',
      'host',
      '-v',
      `${dir}:/policies:ro`,
      image,
      'run',
      '--policies',
      '/policies',
      '--cgroup',
      cg.path,
      '--pin-root',
      `/sys/fs/bpf/${NAME}`,
      '--output',
      'json',
      // the image's own /etc/bpfgate/config.yaml says audit, as the package's does
      '--mode',
      'enforce',
    ]);
    const logs = async () => {
      const r = await docker(['logs', NAME]);
      return { out: r.stdout, err: r.stderr };
    };
    await waitFor(
      async () => (await logs()).err.includes('"ready":true'),
      60_000,
      'the daemon in the container ready',
    );
    expect((await logs()).err).toContain('"msg":"bpfgate is enforcing"');
    expect(await tryRawSocket(cg.path)).toBe('errno 1');
    expect(await tryRawSocket()).toBe('ok');
    await waitFor(
      async () => (await logs()).out.includes('"rule":"raw-inet"'),
      10_000,
      'the violation on stdout',
    );
    const event = JSON.parse((await logs()).out.split('\n').find((l) => l.includes('"raw-inet"'))!);
    expect(event).toMatchObject({ kind: 'socket', outcome: 'denied', policy: { name: 'image-raw' } });
    expect(event.process.executable).toContain('python3');
    await dockerOk(['stop', '-t', '20', NAME]);
    expect(await tryRawSocket(cg.path)).toBe('ok');
  });
});
