// Text from events for a terminal or a report: file names, comm, executables,
// arguments and host names are chosen by whoever caused the event, and a
// control character in them would be a command to the reader's terminal
// (title, clear screen, cursor moves, a hyperlink) or would reorder the line
// (bidirectional overrides). Each becomes a visible escape; a backslash is
// doubled so an escape can be told from text that looks like one. Pure.

// C0 controls, DEL, C1 controls, the line and paragraph separators and the
// bidirectional embeddings, overrides and isolates
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/g;

const SHORT: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', '\\': '\\\\' };

/** `s` with every character that could act on a terminal written as an escape. */
export function printable(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const short = SHORT[c];
    if (short) return short;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
