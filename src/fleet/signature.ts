// Signed fleet entries (docs/fleet.md, "Signed policies"). Every entry of the
// policy bucket carries an Ed25519 signature (an NATS nkey) in its last line:
//
//   <the policy YAML, ending with a newline>
//   # bpfgate-signature: v1 <signer's public key> <signature, base64url>
//
// The signature covers the entry's key and its text ("bpfgate fleet v1\n"
// <key> "\n" <text>), so a signed policy cannot be moved to another key. A
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
import { type FleetEntry, kvSourceName, POLICY_KEY_PREFIX } from './select.ts';

/** The key of the signed marker that says an empty bucket is meant. */
export const EMPTY_MARKER_KEY = `${POLICY_KEY_PREFIX}_empty`;
/** The text the marker signs. */
export const EMPTY_MARKER_TEXT = 'bpfgate: the fleet policy set is empty on purpose\n';
/** An nkey public key: 56 base32 characters (U… for a user key, the kind `bpfgate fleet keygen` makes). */
export const PUBLIC_KEY = /^[A-Z][A-Z2-7]{55}$/;

const SIGNATURE_LINE = /^# bpfgate-signature: v1 ([A-Z][A-Z2-7]{55}) ([A-Za-z0-9_-]{86})$/;
/** room for the signature line on top of the YAML limit */
const MAX_ENTRY_BYTES = MAX_YAML_BYTES + 256;

function message(key: string, text: string): Uint8Array {
  return Buffer.from(`bpfgate fleet v1\n${key}\n${text}`, 'utf8');
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

/** The entry value for `text` under `key`, signed by `signer`. */
export function signEntry(signer: KeyPair, key: string, text: string): string {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  const sig = Buffer.from(signer.sign(message(key, body))).toString('base64url');
  return `${body}# bpfgate-signature: v1 ${signer.getPublicKey()} ${sig}\n`;
}

export type Verified =
  | { ok: true; text: string; signer: string }
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
  if (!m)
    return {
      ok: false,
      message:
        'the entry is not signed (its last line must be the # bpfgate-signature line of bpfgate fleet sign)',
      line,
    };
  const [, signer = '', sig = ''] = m;
  if (!trusted.includes(signer))
    return {
      ok: false,
      message: `signed by ${signer}, which is not one of this host's fleet.trustedKeys`,
      line,
    };
  const text = body.slice(0, cut + 1);
  let good = false;
  try {
    good = fromPublic(signer).verify(message(key, text), Buffer.from(sig, 'base64url'));
  } catch {
    good = false;
  }
  if (!good)
    return { ok: false, message: `the signature by ${signer} does not match the entry's key and text`, line };
  return { ok: true, text, signer };
}

export interface VerifiedBucket {
  /** the policy entries whose signature holds, their text without the signature line */
  entries: FleetEntry[];
  /** one error per refused entry; FLEET_EMPTY when the bucket is empty without the signed marker */
  diagnostics: Diagnostic[];
}

/** Verify every entry of the bucket; the empty-set marker is consumed here. */
export function verifyBucket(
  bucket: string,
  entries: readonly FleetEntry[],
  trusted: readonly string[],
): VerifiedBucket {
  const out: FleetEntry[] = [];
  const diagnostics: Diagnostic[] = [];
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
    if (e.key === EMPTY_MARKER_KEY) marker = v.text === EMPTY_MARKER_TEXT;
    else out.push({ key: e.key, revision: e.revision, text: v.text });
  }
  if (out.length === 0 && refused === 0 && !marker)
    diagnostics.push({
      code: 'FLEET_EMPTY',
      message: `the bucket holds no policy and no signed empty-set marker (${EMPTY_MARKER_KEY}, bpfgate fleet push --empty): the running set stays`,
      severity: 'error',
      pos: { file: `kv://${bucket}/${POLICY_KEY_PREFIX}>`, line: 1, column: 1 },
    });
  return { entries: out, diagnostics };
}
