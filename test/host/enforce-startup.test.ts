// `bpfgate run` start-up refusals and stopping, on this host's kernel (root):
//   npx vitest run --project host test/host/enforce-startup.test.ts
// --require-enforcement with a rule that needs BPF-LSM, and an invalid policy
// set: the daemon exits 1 with the reason and attaches nothing. A daemon that
// does start is stopped with SIGINT and leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAttacks } from '../support/attacks.ts';
import { bpfgate, type Json } from '../support/daemon.ts';
import { EnforceHarness } from '../support/enforce.ts';

let h: EnforceHarness;
let ATTACK = '';

beforeAll(() => {
  ({ attack: ATTACK } = buildAttacks());
  h = new EnforceHarness();
});

afterAll(async () => {
  await h?.close();
});

/** A policies folder of its own under the harness's scratch folder. */
function policies(set: string, vars: Record<string, string> = {}): string {
  return h.writePolicies(set, vars, `${h.dir}/${set}`);
}

function runArgs(dir: string, extra: string[] = []): string[] {
  return ['run', '--policies', dir, '--cgroup', h.cgroup.path, ...extra];
}

function logLines(stderr: string): Json[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Json);
}

describe('bpfgate run refuses to start', () => {
  it('with --require-enforcement and rules that need BPF-LSM: exit 1, each rule named, nothing attached', async () => {
    const dir = policies('lsm-only', { SECRET: `${h.dir}/secret` });
    const doc = await bpfgate(['doctor', '--json']);
    expect(doc.code, doc.stderr).toBe(0);
    const rows = (JSON.parse(doc.stdout) as Json).matrix.rows as Json[];
    // this host has no BPF-LSM (KERNEL.md): both rules are weaker than asked
    expect(rows.find((r) => r.kind === 'file')?.block.downgraded).toBe(true);
    expect(rows.find((r) => r.kind === 'capability')?.block.downgraded).toBe(true);

    const r = await bpfgate(runArgs(dir, ['--require-enforcement']), h.env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/refusing to start: 2 rule\(s\) would be enforced more weakly than asked/);
    expect(r.stderr).toMatch(/host-lsm\/secret-file \(file, block\): kill/);
    expect(r.stderr).toMatch(/host-lsm\/sys-admin \(capability, block\): unavailable/);
    expect(r.stderr).not.toMatch(/host-raw\/raw-inet \(socket, block\): .* — /);
    const msgs = logLines(r.stderr).map((l) => l.msg);
    expect(logLines(r.stderr).some((l) => l.ready)).toBe(false);
    expect(msgs).not.toContain('policy generation active');
    expect(await h.attachedToCgroup()).toEqual([]);
    expect(h.pinnedLinks()).toEqual([]);
    // the raw socket rule of the same set was never enforced
    const raw = await h.attempt([ATTACK, 'raw_socket'], 'inside');
    expect({ code: raw.code, stdout: raw.stdout }).toEqual({ code: 0, stdout: 'ok' });
  });

  it('with an invalid policy: exit 1, every error located, nothing attached', async () => {
    const dir = policies('invalid');
    const file = `${dir}/invalid.yaml`;
    const r = await bpfgate(runArgs(dir), h.env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('the policy set is invalid, nothing was loaded');
    expect(r.stderr).toContain(
      `${file}:12:7: unknown key 'acton' in rule (did you mean 'action'?) [UNKNOWN_KEY]`,
    );
    expect(r.stderr).toContain(`${file}:10:7: missing required key 'action'`);
    expect(r.stderr).toContain(`${file}:17:28: '127.0.0.1/8' has host bits set beyond /8 [INVALID_CIDR]`);
    expect(logLines(r.stderr).some((l) => l.ready)).toBe(false);
    expect(await h.attachedToCgroup()).toEqual([]);
    expect(h.pinnedLinks()).toEqual([]);
  });

  it('with a policies path that does not exist: exit 1, located, nothing attached', async () => {
    const r = await bpfgate(runArgs(`${h.dir}/no-such-folder`), h.env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${h.dir}/no-such-folder`);
    expect(r.stderr).toContain('[FILE_NOT_FOUND]');
    expect(await h.attachedToCgroup()).toEqual([]);
    expect(h.pinnedLinks()).toEqual([]);
  });
});

describe('bpfgate run stops cleanly', () => {
  it('SIGINT detaches everything and exits 0; the raw socket works again', async () => {
    const dir = policies('raw-only');
    const daemon = await h.startDaemon([], dir);
    const denied = await h.attempt([ATTACK, 'raw_socket'], 'inside');
    expect({ code: denied.code, stdout: denied.stdout }).toEqual({ code: 1, stdout: 'errno 1 EPERM' });
    await daemon.oneEventOf(denied.pid);
    expect((await h.attachedToCgroup()).length).toBe(1);

    expect(await daemon.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expect(daemon.logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['stopping: detaching every program', 'stopped']),
    );
    expect(await h.attachedToCgroup()).toEqual([]);
    expect(h.pinnedLinks()).toEqual([]);
    const after = await h.attempt([ATTACK, 'raw_socket'], 'inside');
    expect({ code: after.code, stdout: after.stdout }).toEqual({ code: 0, stdout: 'ok' });
  });
});
