// The policy module's public surface: YAML text in, a validated PolicySet (or
// nothing) and every diagnostic out. `parsePolicySources` is pure;
// `loadPolicyFiles` is the thin I/O edge that reads files and folders.
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Diagnostic } from '../errors.ts';
import { isBinary, isPolicyShaped, MAX_POLICY_FILE_BYTES, POLICY_KEYS } from './guard.ts';
import type { Policy, PolicySet, RuleKind } from './model.ts';
import { ALLOWABLE_KINDS, readPolicy } from './normalize.ts';
import { checkSchema } from './schema.ts';
import { checkConflicts, checkSet } from './semantic.ts';
import { parseYaml } from './yaml-positions.ts';

export { CODES, type DiagnosticCode } from './codes.ts';
export { MAP_BUDGET, MAX_PATH_BYTES, MAX_POLICIES } from './limits.ts';
export { buildPolicySchema } from './schema-build.ts';
export { ruleEntries, ruleTargets } from './semantic.ts';

export interface PolicySource {
  file: string;
  text: string;
}

export interface PolicyResult {
  /** null when any diagnostic is an error: nothing of an invalid set is used */
  set: PolicySet | null;
  /** sorted by file, line, column */
  diagnostics: Diagnostic[];
}

function byPosition(a: Diagnostic, b: Diagnostic): number {
  return (
    (a.pos.file < b.pos.file ? -1 : a.pos.file > b.pos.file ? 1 : 0) ||
    a.pos.line - b.pos.line ||
    a.pos.column - b.pos.column ||
    (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)
  );
}

function unique(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const k = `${d.pos.file}:${d.pos.line}:${d.pos.column}:${d.code}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Parse and validate policy sources, in the order given. Pure: no I/O. */
export function parsePolicySources(sources: PolicySource[]): PolicyResult {
  const diagnostics: Diagnostic[] = [];
  const policies: Policy[] = [];
  for (const { file, text } of sources) {
    const parsed = parseYaml(file, text);
    diagnostics.push(...parsed.diagnostics);
    if (parsed.documents.length === 0 && parsed.diagnostics.length === 0) {
      diagnostics.push({
        code: 'NO_POLICIES',
        message: 'the file holds no policy',
        severity: 'warning',
        pos: { file, line: 1, column: 1 },
      });
    }
    for (const doc of parsed.documents) {
      if (!isPolicyShaped(doc.value)) {
        diagnostics.push({
          code: 'NOT_A_POLICY',
          message: `not a bpfgate policy: the document has none of the keys ${POLICY_KEYS.join(', ')} (its content is not shown)`,
          severity: 'error',
          pos: doc.locate([]),
        });
        continue;
      }
      const bad: string[] = [];
      diagnostics.push(...checkSchema(doc, bad));
      const { policy, diagnostics: found } = readPolicy(doc, bad);
      diagnostics.push(...found);
      if (policy) {
        diagnostics.push(...checkConflicts(policy));
        policies.push(policy);
      }
    }
  }
  diagnostics.push(...checkSet(policies));
  const sorted = unique(diagnostics).sort(byPosition);
  const failed = sorted.some((d) => d.severity === 'error');
  return { set: failed ? null : { policies }, diagnostics: sorted };
}

/** A file or folder that could not be opened, listed or read (`doing`: "open", "list", "read"). */
function unreadable(file: string, doing: string, err: unknown): Diagnostic {
  const missing = (err as NodeJS.ErrnoException).code === 'ENOENT' && doing !== 'list';
  return {
    code: missing ? 'FILE_NOT_FOUND' : 'READ_ERROR',
    message: `cannot ${doing}: ${(err as Error).message}`,
    severity: 'error',
    pos: { file, line: 1, column: 1 },
  };
}

async function expand(path: string, out: string[], diagnostics: Diagnostic[]): Promise<void> {
  const where = { file: path, line: 1, column: 1 };
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (err) {
    diagnostics.push(unreadable(path, 'open', err));
    return;
  }
  if (!info.isDirectory()) {
    out.push(path);
    return;
  }
  let names: string[];
  try {
    names = (await readdir(path)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (err) {
    diagnostics.push(unreadable(path, 'list', err));
    return;
  }
  if (names.length === 0) {
    diagnostics.push({
      code: 'NO_POLICIES',
      message: 'no *.yaml or *.yml file here',
      severity: 'warning',
      pos: where,
    });
  }
  out.push(...names.map((n) => join(path, n)));
}

/** A file-level problem, at the file's first position. */
function fileProblem(file: string, code: 'FILE_TOO_LARGE' | 'NOT_TEXT', message: string): Diagnostic {
  return { code, message, severity: 'error', pos: { file, line: 1, column: 1 } };
}

/**
 * One policy file's text, or the diagnostic why it is not read: the size is
 * checked before reading (on the open file, so it cannot grow in between),
 * and a binary file's bytes never reach the parser or the terminal.
 */
export async function readPolicyFile(file: string): Promise<{ text: string } | Diagnostic> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    return unreadable(file, 'read', err);
  }
  try {
    const { size, isFile } = await handle.stat().then((s) => ({ size: s.size, isFile: s.isFile() }));
    if (!isFile) return unreadable(file, 'read', new Error('not a regular file'));
    if (size > MAX_POLICY_FILE_BYTES)
      return fileProblem(
        file,
        'FILE_TOO_LARGE',
        `${size} bytes: larger than a policy file may be (${MAX_POLICY_FILE_BYTES} bytes); not read`,
      );
    // the size it has now and one byte more (a file that grew is seen growing); larger only if it does
    let buf = Buffer.allocUnsafe(size + 1);
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        const more = Buffer.allocUnsafe(Math.min(buf.length * 2, MAX_POLICY_FILE_BYTES + 1));
        buf.copy(more, 0, 0, length);
        buf = more;
      }
      const { bytesRead } = await handle.read(buf, length, buf.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_POLICY_FILE_BYTES)
        return fileProblem(file, 'FILE_TOO_LARGE', `larger than ${MAX_POLICY_FILE_BYTES} bytes; not read`);
    }
    const bytes = buf.subarray(0, length);
    if (isBinary(bytes))
      return fileProblem(file, 'NOT_TEXT', 'a binary file, not YAML text (its content is not shown)');
    return { text: bytes.toString('utf8') };
  } catch (err) {
    return unreadable(file, 'read', err);
  } finally {
    await handle.close();
  }
}

/** Told after each file is read: files done, of how many, and bytes read so far. */
export type LoadProgress = (done: number, total: number, bytes: number) => void;

/**
 * Read policy files and folders (their *.yaml and *.yml files, sorted by name) and validate them as one set.
 * `parse`: parsePolicySources or one that gives the same result elsewhere (./parse-worker.ts).
 */
export async function loadPolicyFiles(
  paths: string[],
  progress?: LoadProgress,
  parse: (sources: PolicySource[]) => PolicyResult | Promise<PolicyResult> = parsePolicySources,
): Promise<PolicyResult> {
  const diagnostics: Diagnostic[] = [];
  const files: string[] = [];
  for (const p of paths) await expand(p, files, diagnostics);
  const sources: PolicySource[] = [];
  const unique = [...new Set(files)];
  let bytes = 0;
  for (const [i, file] of unique.entries()) {
    const r = await readPolicyFile(file);
    if ('text' in r) {
      sources.push({ file, text: r.text });
      bytes += r.text.length;
    } else diagnostics.push(r);
    progress?.(i + 1, unique.length, bytes);
  }
  const result = await parse(sources);
  const all = [...diagnostics, ...result.diagnostics].sort(byPosition);
  const failed = all.some((d) => d.severity === 'error');
  return { set: failed ? null : result.set, diagnostics: all };
}

/** The kinds a policy turns into allowlists: under defaultAction: block, those with at least one allow rule. */
export function allowlistedKinds(policy: Policy): RuleKind[] {
  if (policy.defaultAction !== 'block') return [];
  return ALLOWABLE_KINDS.filter((k) => policy.rules.some((r) => r.kind === k && r.action === 'allow'));
}
