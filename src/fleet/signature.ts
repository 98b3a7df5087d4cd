// Signed fleet entries (docs/fleet.md, "Signed policies"). Every entry of the
// policy bucket carries an Ed25519 signature (an NATS nkey) in its last line:
//
//   <the policy YAML, ending with a newline>
//   # bpfgate-signature: v2 <signer's public key> <sequence> <signature, base64url>
//
// The signature covers the entry's key, its sequence and its text ("bpfgate
// fleet v2\n" <key> "\n" <sequence> "\n" <text>), so a signed policy cannot
// be moved to another key nor its sequence changed. The sequence (the
// signer's clock in milliseconds) only grows: a host refuses an entry older
// than the one it applied for that key, and a policy it applied that is gone
// from the bucket without a signed deletion (a tombstone, TOMBSTONE_TEXT
// signed for the key) (./freshness.ts). A
// host verifies it against the public keys pinned in its own configuration
// (fleet.trustedKeys) before the text reaches the YAML parser; an entry that
// is unsigned, too large, signed by a key the host does not trust or whose
// signature does not match is an error located at the entry, and the running
// set stays. An empty bucket is applied only when it holds the signed marker
// policies._empty (`bpfgate fleet push --empty`): deleting every entry is not
// enough to turn a fleet's enforcement off. Pure: no I/O.
import { fromPublic, fromSeed, type KeyPair } from '@nats-io/nkeys';
import type { Diagnostic } from '../errors.ts';
import { MAX_YAML_BYTES } from '../policy/limits.ts';
import { checkFreshness, type KeySequence, type Sequences } from './freshness.ts';
import { type FleetEntry, kvSourceName, POLICY_KEY_PREFIX } from './select.ts';

/** The key of the signed marker that says an empty bucket is meant. */
export const EMPTY_MARKER_KEY = `${POLICY_KEY_PREFIX}_empty`;
/** The text the marker signs. */
export const EMPTY_MARKER_TEXT = 'bpfgate: the fleet policy set is empty on purpose\n';
/** The text a tombstone signs: the policy under its key is deleted on purpose. */
export const TOMBSTONE_TEXT = 'bpfgate: this policy is deleted on purpose\n';
/** An nkey public key: 56 base32 characters (U… for a user key, the kind `bpfgate fleet keygen` makes). */
export const PUBLIC_KEY = /^[A-Z][A-Z2-7]{55}$/;

const SIGNATURE_LINE = /^# bpfgate-signature: v2 ([A-Z][A-Z2-7]{55}) (\d{1,15}) ([A-Za-z0-9_-]{86})$/;
const V1_LINE = /^# bpfgate-signature: v1 /;
/** room for the signature line on top of the YAML limit */
const MAX_ENTRY_BYTES = MAX_YAML_BYTES + 256;

function message(key: string, seq: number, text: string): Uint8Array {
  return Buffer.from(`bpfgate fleet v2\n${key}\n${seq}\n${text}`, 'utf8');
}

/** A signing key from its seed (S…); throws a plain Error that never repeats the seed. */
export function signerFromSeed(seed: string): KeyPair {
  try {
    const kp = fromSeed(Buffer.from(seed.trim(), 'utf8'));
    kp.sign(Buffer.alloc(1));
    return kp;
  } catch {
    throw new Error(
      'not an nkey seed that can sign (expected one line starting with SU, from bpfgate fleet keygen)',
    );
  }
}

/** The entry value for `text` under `key`, signed by `signer` with sequence `seq` (default: now, in ms). */
export function signEntry(signer: KeyPair, key: string, text: string, seq: number = Date.now()): string {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq >= 1e15) throw new Error(`sequence ${seq} out of range`);
  const body = text.endsWith('\n') ? text : `${text}\n`;
  const sig = Buffer.from(signer.sign(message(key, seq, body))).toString('base64url');
  return `${body}# bpfgate-signature: v2 ${signer.getPublicKey()} ${seq} ${sig}\n`;
}

export type Verified =
  | { ok: true; text: string; signer: string; seq: number }
  | { ok: false; message: string; line: number };

/** Check an entry's signature against the trusted public keys; the signed text without its signature line. */
export function verifyEntry(key: string, value: string, trusted: readonly string[]): Verified {
  if (Buffer.byteLength(value, 'utf8') > MAX_ENTRY_BYTES)
    return { ok: false, message: `the entry is larger than ${MAX_ENTRY_BYTES} bytes: not read`, line: 1 };
  const body = value.endsWith('\n') ? value.slice(0, -1) : value;
  const cut = body.lastIndexOf('\n');
  const last = body.slice(cut + 1);
  const line = cut < 0 ? 1 : body.slice(0, cut + 1).split('\n').length;
  const m = SIGNATURE_LINE.exec(last);
  if (!m && V1_LINE.test(last))
    return {
      ok: false,
      message:
        'the entry is signed without a sequence (a v1 signature, replayable): sign it again with bpfgate fleet push',
      line,
    };
  if (!m)
    return {
      ok: false,
      message:
        'the entry is not signed (its last line must be the # bpfgate-signature line of bpfgate fleet sign)',
      line,
    };
  const [, signer = '', seqText = '', sig = ''] = m;
  const seq = Number(seqText);
  if (!trusted.includes(signer))
    return {
      ok: false,
      message: `signed by ${signer}, which is not one of this host's fleet.trustedKeys`,
      line,
    };
  const text = body.slice(0, cut + 1);
  let good = false;
  try {
    good = fromPublic(signer).verify(message(key, seq, text), Buffer.from(sig, 'base64url'));
  } catch {
    good = false;
  }
  if (!good)
    return {
      ok: false,
      message: `the signature by ${signer} does not match the entry's key, sequence and text`,
      line,
    };
  return { ok: true, text, signer, seq };
}

export interface VerifiedBucket {
  /** the policy entries whose signature holds, their text without the signature line */
  entries: FleetEntry[];
  /**
   * one error per refused entry (FLEET_SIGNATURE, FLEET_REPLAY), per applied policy gone without a
   * tombstone (FLEET_DELETED); FLEET_EMPTY when the bucket is empty without the signed marker
   */
  diagnostics: Diagnostic[];
  /** `applied` advanced by this read's signed sequences: what the host keeps once it applies this read */
  sequences: Map<string, KeySequence>;
}

/**
 * Verify every entry of the bucket against the trusted keys and the
 * sequences this host applied before; the empty-set marker and tombstones
 * are consumed here.
 */
export function verifyBucket(
  bucket: string,
  entries: readonly FleetEntry[],
  trusted: readonly string[],
  applied: Sequences = new Map(),
): VerifiedBucket {
  const out: FleetEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  const read = new Map<string, KeySequence & { revision: number }>();
  let marker = false;
  let refused = 0;
  for (const e of entries) {
    const v = verifyEntry(e.key, e.text, trusted);
    if (!v.ok) {
      refused++;
      diagnostics.push({
        code: 'FLEET_SIGNATURE',
        message: `${e.key}: ${v.message}; the entry is refused and the running set stays`,
        severity: 'error',
        pos: { file: kvSourceName(bucket, e.key, e.revision), line: v.line, column: 1 },
      });
      continue;
    }
    const live = e.key !== EMPTY_MARKER_KEY && v.text !== TOMBSTONE_TEXT;
    read.set(e.key, { seq: v.seq, live, revision: e.revision });
    if (e.key === EMPTY_MARKER_KEY) marker = v.text === EMPTY_MARKER_TEXT;
    else if (live) out.push({ key: e.key, revision: e.revision, text: v.text });
  }
  const fresh = checkFreshness(
    bucket,
    read,
    entries.map((e) => e.key),
    applied,
  );
  diagnostics.push(...fresh.diagnostics);
  refused += fresh.diagnostics.length;
  if (out.length === 0 && refused === 0 && !marker)
    diagnostics.push({
      code: 'FLEET_EMPTY',
      message: `the bucket holds no policy and no signed empty-set marker (${EMPTY_MARKER_KEY}, bpfgate fleet push --empty): the running set stays`,
      severity: 'error',
      pos: { file: `kv://${bucket}/${POLICY_KEY_PREFIX}>`, line: 1, column: 1 },
    });
  return { entries: out, diagnostics, sequences: fresh.sequences };
}
