// Checks and normal forms of the paths a policy names: exec and file paths,
// directories, executables and cgroup selectors. Each returns the
// normalised value, or the code and reason of the first problem.
import type { DiagnosticCode } from './codes.ts';
import { MAX_PATH_BYTES } from './limits.ts';

export type PathRole = 'path' | 'directory' | 'executable' | 'cgroup';

export type Checked = { ok: true; value: string } | { ok: false; code: DiagnosticCode; reason: string };

const fail = (code: DiagnosticCode, reason: string): Checked => ({ ok: false, code, reason });

function tooLong(value: string): boolean {
  return Buffer.byteLength(value, 'utf8') + 1 > MAX_PATH_BYTES;
}

function checkCgroupGlob(value: string): Checked | null {
  const parts = value.split('/').slice(1);
  for (const [i, part] of parts.entries()) {
    if (/[?[\]{}]/.test(part))
      return fail('INVALID_GLOB', `'${value}': only * and a final /** are supported`);
    if (part.includes('**') && (part !== '**' || i !== parts.length - 1)) {
      return fail('INVALID_GLOB', `'${value}': ** is only allowed as the whole last component (/**)`);
    }
  }
  return null;
}

/** Normalise and check one absolute path in the given role. */
export function checkPath(raw: string, role: PathRole): Checked {
  if (raw.includes('\0')) return fail('INVALID_VALUE', 'a path cannot contain a NUL byte');
  if (!raw.startsWith('/')) return fail('RELATIVE_PATH', `'${raw}' must be absolute (start with /)`);
  let value = raw;
  if (role === 'directory' && !value.endsWith('/')) value = `${value}/`;
  const body = value.length > 1 && value.endsWith('/') ? value.slice(0, -1) : value;
  if (body.includes('//') || /\/\.\.?(\/|$)/.test(body)) {
    return fail('NON_CANONICAL_PATH', `'${raw}' contains //, /./ or /../; write the path the kernel reports`);
  }
  if ((role === 'path' || role === 'executable') && value.length > 1 && value.endsWith('/')) {
    return fail('INVALID_VALUE', `'${raw}' ends with /: a directory belongs under directories`);
  }
  if (role === 'cgroup') {
    const glob = checkCgroupGlob(value);
    if (glob) return glob;
  } else if (value.includes('*')) {
    return fail('INVALID_GLOB', `'${raw}': wildcards are not supported here; use directories for a subtree`);
  }
  if (tooLong(value)) {
    return fail('PATH_TOO_LONG', `'${raw.slice(0, 40)}...' is longer than ${MAX_PATH_BYTES - 1} bytes`);
  }
  return { ok: true, value };
}
