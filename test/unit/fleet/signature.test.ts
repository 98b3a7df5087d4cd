// Signed fleet entries: a host applies only entries signed by a key pinned in
// its configuration, for the key they were signed for; everything else is an
// error located at the entry, found before the text reaches the YAML parser.
// An empty bucket needs the signed marker.
import { createUser } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import type { FleetEntry } from '../../../src/fleet/select.ts';
import {
  EMPTY_MARKER_KEY,
  EMPTY_MARKER_TEXT,
  signEntry,
  signerFromSeed,
  verifyBucket,
  verifyEntry,
} from '../../../src/fleet/signature.ts';

const BUCKET = 'bpfgate-policies';
const ops = createUser();
const other = createUser();
const trusted = [ops.getPublicKey()];
const text = 'apiVersion: bpfgate.dev/v1\nkind: Policy\nmetadata:\n  name: x\n';

describe('signing and verifying one entry', () => {
  it('a signed entry verifies and yields the text without its signature line', () => {
    const value = signEntry(ops, 'policies.x', text);
    expect(value.startsWith(text)).toBe(true);
    expect(value.split('\n').at(-2)).toMatch(/^# bpfgate-signature: v1 U[A-Z2-7]{55} [\w-]{86}$/);
    expect(verifyEntry('policies.x', value, trusted)).toEqual({ ok: true, text, signer: ops.getPublicKey() });
  });

  it('refuses an unsigned entry, at its last line', () => {
    const r = verifyEntry('policies.x', text, trusted);
    expect(r).toMatchObject({ ok: false, line: 4 });
    expect(r.ok || r.message).toMatch(/not signed/);
  });

  it('refuses a key the host does not trust', () => {
    const r = verifyEntry('policies.x', signEntry(other, 'policies.x', text), trusted);
    expect(r.ok || r.message).toMatch(/not one of this host's fleet.trustedKeys/);
  });

  it('refuses a changed text, a signature moved to another key, a forged signature line', () => {
    const value = signEntry(ops, 'policies.x', text);
    const changed = value.replace('name: x', 'name: y');
    expect(verifyEntry('policies.x', changed, trusted).ok).toBe(false);
    expect(verifyEntry('policies.y', value, trusted).ok).toBe(false);
    const forged = value.replace(/ [\w-]{86}\n$/, ` ${'A'.repeat(86)}\n`);
    expect(verifyEntry('policies.x', forged, trusted)).toMatchObject({ ok: false, line: 5 });
  });

  it('refuses an entry over the size cap before looking at it', () => {
    const big = `a: "${'['.repeat(2 << 20)}"\n`;
    const t0 = performance.now();
    const r = verifyEntry('policies.x', big, trusted);
    expect(performance.now() - t0).toBeLessThan(250);
    expect(r.ok || r.message).toMatch(/larger than/);
  });

  it('reads a seed, and never repeats a bad one', () => {
    const kp = signerFromSeed(`${Buffer.from(ops.getSeed()).toString()}\n`);
    expect(kp.getPublicKey()).toBe(ops.getPublicKey());
    const secret = 'SUNOTAREALSEEDBUTLOOKSSECRET';
    expect(() => signerFromSeed(secret)).toThrow(/not an nkey seed/);
    try {
      signerFromSeed(secret);
    } catch (err) {
      expect(String((err as Error).message)).not.toContain(secret);
    }
  });
});

describe('verifying a bucket', () => {
  const entry = (key: string, value: string, revision = 1): FleetEntry => ({ key, revision, text: value });

  it('keeps signed entries, refuses each unsigned one with a located FLEET_SIGNATURE error', () => {
    const r = verifyBucket(
      BUCKET,
      [entry('policies.x', signEntry(ops, 'policies.x', text), 3), entry('policies.y', text, 4)],
      trusted,
    );
    expect(r.entries).toEqual([{ key: 'policies.x', revision: 3, text }]);
    expect(r.diagnostics.map((d) => [d.code, `${d.pos.file}:${d.pos.line}`])).toEqual([
      ['FLEET_SIGNATURE', 'kv://bpfgate-policies/policies.y@rev4:4'],
    ]);
  });

  it('an empty bucket is an error unless it holds the signed marker', () => {
    expect(verifyBucket(BUCKET, [], trusted).diagnostics.map((d) => d.code)).toEqual(['FLEET_EMPTY']);
    const marker = entry(EMPTY_MARKER_KEY, signEntry(ops, EMPTY_MARKER_KEY, EMPTY_MARKER_TEXT));
    expect(verifyBucket(BUCKET, [marker], trusted)).toEqual({ entries: [], diagnostics: [] });
    const unsigned = entry(EMPTY_MARKER_KEY, EMPTY_MARKER_TEXT);
    expect(verifyBucket(BUCKET, [unsigned], trusted).diagnostics.map((d) => d.code)).toEqual([
      'FLEET_SIGNATURE',
    ]);
    const byOther = entry(EMPTY_MARKER_KEY, signEntry(other, EMPTY_MARKER_KEY, EMPTY_MARKER_TEXT));
    expect(verifyBucket(BUCKET, [byOther], trusted).diagnostics.map((d) => d.code)).toEqual([
      'FLEET_SIGNATURE',
    ]);
  });

  it('no trusted key: every entry is refused', () => {
    const r = verifyBucket(BUCKET, [entry('policies.x', signEntry(ops, 'policies.x', text))], []);
    expect(r.entries).toEqual([]);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['FLEET_SIGNATURE']);
  });
});
