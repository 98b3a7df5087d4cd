// The shipped systemd unit (packaging/bpfgate.service), checked by systemd's
// own verifier and against what the daemon writes under ProtectSystem=strict:
//   - `systemd-analyze verify --root` over a root holding the unit where the
//     Debian package installs it, an executable /usr/bin/bpfgate and systemd's
//     own units: no error, no warning (a misspelt key is a warning);
//   - every place a protected daemon writes (the run folder of self-protection
//     and the event socket, the fleet cache, /proc/self/oom_score_adj, the pins
//     on bpffs) is writable under the unit's sandbox;
//   - the OOM killer passes the daemon by from its first instruction.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_FLEET_CACHE_DIR } from '../../../src/fleet/options.ts';
import { DEFAULT_RUN_DIR } from '../../../src/kernel/protect.ts';
import { DEFAULT_EVENTS_SOCKET } from '../../../src/sinks/local.ts';
import { PROJECT_ROOT } from '../../support/paths.ts';

const UNIT = readFileSync(join(PROJECT_ROOT, 'packaging', 'bpfgate.service'), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'bpfgate-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** systemd-analyze verify of `unit` as bpfgate.service in a fresh root: exit code and messages */
function verify(unit: string): { status: number | null; stderr: string } {
  const root = mkdtempSync(join(work, 'root-'));
  for (const d of ['usr/bin', 'bin', 'lib/systemd/system', 'usr/lib/systemd'])
    mkdirSync(join(root, d), { recursive: true });
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/bpfgate'), '#!/bin/sh\n');
  chmodSync(join(root, 'usr/bin/bpfgate'), 0o755);
  copyFileSync('/bin/kill', join(root, 'bin/kill'));
  writeFileSync(join(root, 'lib/systemd/system/bpfgate.service'), unit);
  const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, 'bpfgate.service'], {
    encoding: 'utf8',
  });
  if (r.error) throw r.error; // no systemd-analyze: scripts/setup.sh installs systemd
  return { status: r.status, stderr: r.stderr.trim() };
}

/** The unit's [Service] settings (last value of each key wins, as in systemd; lists joined). */
function settings(unit: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of unit.split('\n')) {
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (kv) m.set(kv[1]!, kv[2]!);
  }
  return m;
}

/** Folders writable under ProtectSystem=strict: the unit's own directories, ReadWritePaths, and the API file systems. */
function writable(unit: string): string[] {
  const s = settings(unit);
  const dirs = (key: string, base: string) =>
    (s.get(key) ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((d) => `${base}/${d}`);
  const out = [
    ...dirs('RuntimeDirectory', '/run'),
    ...dirs('StateDirectory', '/var/lib'),
    ...dirs('CacheDirectory', '/var/cache'),
    ...(s.get('ReadWritePaths') ?? '').split(/\s+/).filter(Boolean),
  ];
  // strict leaves /dev, /proc and /sys to their own settings
  if (s.get('ProtectKernelTunables') !== 'yes') out.push('/proc', '/sys');
  return out;
}

const under = (p: string, dirs: string[]) => dirs.some((d) => p === d || p.startsWith(`${d}/`));
const DAEMON_WRITES = [
  DEFAULT_RUN_DIR,
  DEFAULT_EVENTS_SOCKET,
  DEFAULT_FLEET_CACHE_DIR,
  '/proc/self/oom_score_adj',
  '/sys/fs/bpf/bpfgate',
];

describe('the shipped systemd unit', () => {
  it('passes systemd-analyze verify without a warning', () => {
    expect(verify(UNIT)).toEqual({ status: 0, stderr: '' });
  });

  it('the verifier is not blind: a misspelt key is reported', () => {
    const r = verify(UNIT.replace(/^ProtectSystem=strict$/m, 'ProtectSystm=strict'));
    expect(r.stderr).toMatch(/Unknown key 'ProtectSystm'/);
  });

  it('leaves every place a protected daemon writes writable under ProtectSystem=strict', () => {
    expect(settings(UNIT).get('ProtectSystem')).toBe('strict');
    const dirs = writable(UNIT);
    for (const p of DAEMON_WRITES) expect(under(p, dirs), `${p} in ${dirs.join(' ')}`).toBe(true);
    // the check sees a unit without its runtime directory
    const bare = UNIT.replace(/^RuntimeDirectory=.*$/m, '');
    expect(under(DEFAULT_RUN_DIR, writable(bare))).toBe(false);
  });

  it("sets the daemon out of the OOM killer's reach and lets it lower its own oom_score_adj", () => {
    const s = settings(UNIT);
    expect(s.get('OOMScoreAdjust')).toBe('-1000');
    expect(s.get('CapabilityBoundingSet')).toContain('CAP_SYS_RESOURCE');
  });
});
