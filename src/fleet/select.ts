// The bucket's policy entries → the policy set of one host. Each entry
// `policies.<name>` holds one policy document; its `bpfgate.dev/hosts`
// metadata label (a selector, ./selector.ts) says which hosts it applies to,
// none meaning every host. The entries that select this host are validated as
// one set, exactly like a folder of files; every diagnostic names its entry
// as kv://<bucket>/<key>@rev<revision>:line:column. Pure: no I/O.
import type { Diagnostic } from '../errors.ts';
import { type PolicyResult, parsePolicySources } from '../policy/index.ts';
import { parseYaml } from '../policy/yaml-positions.ts';
import {
  EVERY_HOST,
  HOSTS_LABEL,
  type HostLabels,
  parseSelector,
  type Selector,
  selects,
} from './selector.ts';

/** Keys of policy entries start with this. */
export const POLICY_KEY_PREFIX = 'policies.';
/** Keys of host status entries start with this. */
export const HOST_KEY_PREFIX = 'hosts.';

/** One policy entry of the bucket, as read (a PUT; deleted keys are not entries). */
export interface FleetEntry {
  key: string;
  revision: number;
  text: string;
}

/** A policy entry this host applies. */
export interface AppliedEntry {
  name: string;
  key: string;
  revision: number;
}

export interface FleetSelection {
  /** the host's set, validated; set is null when any diagnostic is an error */
  result: PolicyResult;
  /** the entries that select this host, in key order */
  selected: AppliedEntry[];
  /** keys of entries that select other hosts */
  skipped: string[];
}

const POLICY_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** The source name of an entry in diagnostics: kv://<bucket>/<key>@rev<revision>. */
export function kvSourceName(bucket: string, key: string, revision: number): string {
  return `kv://${bucket}/${key}@rev${revision}`;
}

/** The bucket, key and revision of a source name made by kvSourceName, or null. */
export function parseKvSourceName(name: string): { bucket: string; key: string; revision: number } | null {
  const m = /^kv:\/\/([^/]+)\/(.+)@rev(\d+)$/.exec(name);
  if (!m) return null;
  return { bucket: m[1] ?? '', key: m[2] ?? '', revision: Number(m[3]) };
}

/** The host status key of a host name: hosts.<host>, characters a key cannot hold replaced by '_'. */
export function hostStatusKey(host: string): string {
  const safe = host
    .replace(/[^-/_=.A-Za-z0-9]/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^\.|\.$/g, '_');
  return `${HOST_KEY_PREFIX}${safe || '_'}`;
}

function metadata(value: unknown): Record<string, unknown> {
  const m = (value as { metadata?: unknown } | null)?.metadata;
  return typeof m === 'object' && m !== null && !Array.isArray(m) ? (m as Record<string, unknown>) : {};
}

function byPosition(a: Diagnostic, b: Diagnostic): number {
  return (
    (a.pos.file < b.pos.file ? -1 : a.pos.file > b.pos.file ? 1 : 0) ||
    a.pos.line - b.pos.line ||
    a.pos.column - b.pos.column
  );
}

/**
 * The policy set of a host with `labels`, from the bucket's entries.
 * An entry that cannot be read (not YAML, not one document, a key that does
 * not name its policy, a malformed selector) is an error for every host: no
 * host can tell whether it was meant for it. An entry that selects other
 * hosts is not validated further here; the hosts it selects report its errors.
 */
export function selectPolicies(
  bucket: string,
  entries: readonly FleetEntry[],
  labels: HostLabels,
): FleetSelection {
  const diagnostics: Diagnostic[] = [];
  const sources: { file: string; text: string }[] = [];
  const selected: AppliedEntry[] = [];
  const skipped: string[] = [];
  for (const e of [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const file = kvSourceName(bucket, e.key, e.revision);
    const at = { file, line: 1, column: 1 };
    const keyName = e.key.startsWith(POLICY_KEY_PREFIX) ? e.key.slice(POLICY_KEY_PREFIX.length) : '';
    if (!POLICY_NAME.test(keyName)) {
      diagnostics.push({
        code: 'FLEET_KEY',
        message: `'${e.key}' is not a policy key: policies.<name>, the name in lowercase letters, digits and -`,
        severity: 'error',
        pos: at,
      });
      continue;
    }
    const parsed = parseYaml(file, e.text);
    if (parsed.diagnostics.some((d) => d.severity === 'error')) {
      diagnostics.push(...parsed.diagnostics);
      continue;
    }
    if (parsed.documents.length !== 1) {
      diagnostics.push({
        code: 'FLEET_KEY',
        message: `${e.key} holds ${parsed.documents.length} documents: one policy per key`,
        severity: 'error',
        pos: parsed.documents[1]?.locate([]) ?? at,
      });
      continue;
    }
    const doc = parsed.documents[0]!;
    const meta = metadata(doc.value);
    if (meta.name !== keyName) {
      diagnostics.push({
        code: 'FLEET_KEY',
        message: `${e.key} holds the policy '${String(meta.name)}': the key must be policies.<its metadata.name>`,
        severity: 'error',
        pos: doc.locate(['metadata', 'name']),
      });
      continue;
    }
    const labelsOf = meta.labels as Record<string, unknown> | undefined;
    const raw = typeof labelsOf === 'object' && labelsOf !== null ? labelsOf[HOSTS_LABEL] : undefined;
    let selector: Selector = EVERY_HOST;
    if (raw !== undefined) {
      const pos = doc.locate(['metadata', 'labels', HOSTS_LABEL]);
      if (typeof raw !== 'string') {
        diagnostics.push({
          code: 'FLEET_SELECTOR',
          message: `metadata.labels.${HOSTS_LABEL} must be a selector string such as 'role=web, env=prod'`,
          severity: 'error',
          pos,
        });
        continue;
      }
      const s = parseSelector(raw);
      if (!s.ok) {
        diagnostics.push({ code: 'FLEET_SELECTOR', message: s.message, severity: 'error', pos });
        continue;
      }
      selector = s.selector;
    }
    if (!selects(selector, labels)) {
      skipped.push(e.key);
      continue;
    }
    sources.push({ file, text: e.text });
    selected.push({ name: keyName, key: e.key, revision: e.revision });
  }
  const parsed = parsePolicySources(sources);
  const all = [...diagnostics, ...parsed.diagnostics].sort(byPosition);
  if (selected.length === 0 && !all.some((d) => d.severity === 'error')) {
    all.push({
      code: 'NO_POLICIES',
      message: `no policy in the bucket applies to this host (labels: ${
        Object.entries(labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ') || 'none'
      })`,
      severity: 'warning',
      pos: { file: `kv://${bucket}/${POLICY_KEY_PREFIX}>`, line: 1, column: 1 },
    });
  }
  const failed = all.some((d) => d.severity === 'error');
  return { result: { set: failed ? null : parsed.set, diagnostics: all }, selected, skipped };
}
