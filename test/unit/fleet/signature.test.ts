// Signed fleet entries: a host applies only entries signed by a key pinned in
// its configuration, for the key they were signed for; everything else is an
// error located at the entry, found before the text reaches the YAML parser.
// An empty bucket needs the signed marker.
import { createUser } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import { sequencesFromJson, sequencesToJson } from '../../../src/fleet/freshness.ts';
import type { FleetEntry } from '../../../src/fleet/select.ts';
import {
  EMPTY_MARKER_KEY,
  EMPTY_MARKER_TEXT,
  signEntry,
  signerFromSeed,
  TOMBSTONE_TEXT,
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
    expect(value.split('\n').at(-2)).toMatch(/^# bpfgate-signature: v2 U[A-Z2-7]{55} \d+ [\w-]{86}$/);
    const at = signEntry(ops, 'policies.x', text, 42);
    expect(verifyEntry('policies.x', at, trusted)).toEqual({
      ok: true,
      text,
      signer: ops.getPublicKey(),
      seq: 42,
    });
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
    // the sequence is signed: raising it breaks the signature
    const old = signEntry(ops, 'policies.x', text, 5);
    expect(verifyEntry('policies.x', old.replace(' 5 ', ' 9 '), trusted).ok).toBe(false);
  });

  it('refuses a v1 signature (no sequence: replayable)', () => {
    const v1 = `${text}# bpfgate-signature: v1 ${ops.getPublicKey()} ${'A'.repeat(86)}\n`;
    const r = verifyEntry('policies.x', v1, trusted);
    expect(r.ok || r.message).toMatch(/without a sequence/);
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
    expect(verifyBucket(BUCKET, [marker], trusted)).toMatchObject({ entries: [], diagnostics: [] });
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

describe('freshness: sequences a host applied', () => {
  const entry = (key: string, value: string, revision = 1): FleetEntry => ({ key, revision, text: value });
  const codes = (r: { diagnostics: { code: string }[] }) => r.diagnostics.map((d) => d.code);

  it('refuses an entry older than the one applied for its key, located at it; a newer one advances', () => {
    const v1 = entry('policies.x', signEntry(ops, 'policies.x', text, 100), 7);
    const first = verifyBucket(BUCKET, [v1], trusted);
    expect(codes(first)).toEqual([]);
    expect(first.sequences.get('policies.x')).toEqual({ seq: 100, live: true });
    const newer = entry('policies.x', signEntry(ops, 'policies.x', text.replace('x', 'x2'), 200), 8);
    const second = verifyBucket(BUCKET, [newer], trusted, first.sequences);
    expect(codes(second)).toEqual([]);
    // the older revision put back by a writer of the bucket
    const replay = verifyBucket(BUCKET, [{ ...v1, revision: 9 }], trusted, second.sequences);
    expect(replay.diagnostics.map((d) => [d.code, d.pos.file])).toEqual([
      ['FLEET_REPLAY', 'kv://bpfgate-policies/policies.x@rev9'],
    ]);
    expect(replay.diagnostics[0]!.message).toMatch(/sequence 100, older than sequence 200/);
    // the same entry read again is not a replay
    expect(codes(verifyBucket(BUCKET, [newer], trusted, second.sequences))).toEqual([]);
  });

  it('a policy applied and gone without a tombstone is FLEET_DELETED; a signed tombstone deletes it', () => {
    const x = entry('policies.x', signEntry(ops, 'policies.x', text, 100));
    const y = entry('policies.y', signEntry(ops, 'policies.y', text.replace('x', 'y'), 100));
    const applied = verifyBucket(BUCKET, [x, y], trusted).sequences;
    const gone = verifyBucket(BUCKET, [x], trusted, applied);
    expect(gone.diagnostics.map((d) => [d.code, d.pos.file])).toEqual([
      ['FLEET_DELETED', 'kv://bpfgate-policies/policies.y'],
    ]);
    const tomb = entry('policies.y', signEntry(ops, 'policies.y', TOMBSTONE_TEXT, 150));
    const deleted = verifyBucket(BUCKET, [x, tomb], trusted, applied);
    expect(codes(deleted)).toEqual([]);
    expect(deleted.entries.map((e) => e.key)).toEqual(['policies.x']);
    // once the tombstone is applied, its removal changes nothing and the old policy cannot come back
    expect(codes(verifyBucket(BUCKET, [x], trusted, deleted.sequences))).toEqual([]);
    expect(codes(verifyBucket(BUCKET, [x, y], trusted, deleted.sequences))).toEqual(['FLEET_REPLAY']);
    // an unsigned tombstone is no deletion
    const forged = entry('policies.y', TOMBSTONE_TEXT);
    expect(codes(verifyBucket(BUCKET, [x, forged], trusted, applied))).toEqual(['FLEET_SIGNATURE']);
  });

  it('an older empty-set marker put back is refused', () => {
    const marker = (seq: number) =>
      entry(EMPTY_MARKER_KEY, signEntry(ops, EMPTY_MARKER_KEY, EMPTY_MARKER_TEXT, seq));
    const x = entry('policies.x', signEntry(ops, 'policies.x', text, 20));
    const tomb = entry('policies.x', signEntry(ops, 'policies.x', TOMBSTONE_TEXT, 31));
    // emptied (marker 10), filled (x 20), emptied again (marker 30, x deleted 31), filled again (x 40)
    let applied = verifyBucket(BUCKET, [marker(10)], trusted).sequences;
    applied = verifyBucket(BUCKET, [x], trusted, applied).sequences;
    applied = verifyBucket(BUCKET, [marker(30), tomb], trusted, applied).sequences;
    const x40 = entry('policies.x', signEntry(ops, 'policies.x', text, 40));
    applied = verifyBucket(BUCKET, [x40], trusted, applied).sequences;
    // the first marker put back beside the live policy: refused, the running set stays
    expect(codes(verifyBucket(BUCKET, [marker(10), x40], trusted, applied))).toEqual(['FLEET_REPLAY']);
    expect(codes(verifyBucket(BUCKET, [marker(50), x40], trusted, applied))).toEqual([]);
  });

  it('sequences survive the cache as JSON; anything else is refused', () => {
    const s = verifyBucket(
      BUCKET,
      [entry('policies.x', signEntry(ops, 'policies.x', text, 3))],
      trusted,
    ).sequences;
    expect(sequencesFromJson(JSON.parse(JSON.stringify(sequencesToJson(s))))).toEqual(s);
    expect(sequencesFromJson({ 'policies.x': { seq: 'x', live: true } })).toBeNull();
    expect(sequencesFromJson([])).toBeNull();
  });
});
