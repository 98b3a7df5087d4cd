// POSIX shell quoting, for command lines written into guest scripts.

/** Quote one word for a POSIX shell. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
