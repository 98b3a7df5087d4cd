// What the validator may say about a file it reads: a size cap checked before
// reading, binary files refused, and never more of a file's content than a
// short, escaped excerpt of a key (a file that is not a policy, such as
// /etc/shadow, must not come back on the terminal). Pure.

/** Largest policy file read (a 100,000-rule set split over 64 files is far below). */
export const MAX_POLICY_FILE_BYTES = 4 * 1024 * 1024;

/** Longest excerpt of the file's text quoted in a diagnostic. */
export const MAX_EXCERPT = 32;

/** YAML syntax errors reported per file; beyond this one line says how many more. */
export const MAX_SYNTAX_ERRORS = 10;

/** The keys that make a document a policy (the language's top level). */
export const POLICY_KEYS = ['apiVersion', 'kind', 'metadata', 'spec'] as const;

/**
 * A short excerpt of `text`, quoted: control and non-printable characters
 * escaped, cut after MAX_EXCERPT characters with "…".
 */
export function excerpt(text: string, max = MAX_EXCERPT): string {
  const chars = [...text];
  const cut = chars.length > max;
  const body = chars
    .slice(0, max)
    .map((c) => {
      const n = c.codePointAt(0)!;
      if (c === '\\') return '\\\\';
      if (c === "'") return "\\'";
      if (n < 0x20 || (n >= 0x7f && n < 0xa0) || n === 0x2028 || n === 0x2029 || (n >= 0xd800 && n < 0xe000))
        return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
      return c;
    })
    .join('');
  return `'${body}${cut ? '…' : ''}'`;
}

/** Is this a binary file rather than text (a NUL byte, or not UTF-8)? */
export function isBinary(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

/** A document the validator can speak about: a mapping with at least one of the policy's top-level keys. */
export function isPolicyShaped(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return POLICY_KEYS.some((k) => k in value);
}

/** A YAML parser message without the text it quotes from the file ("Unexpected scalar token: "…"" -> "Unexpected scalar token"). */
export function withoutQuotedText(message: string): string {
  return message
    .replace(/:\s*(".*"|'.*')\s*$/s, '')
    .replace(/\s*(".*?"|'.*?')/g, '')
    .trim();
}
