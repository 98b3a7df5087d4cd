// The YAML parser's limits, checked before the text reaches the YAML library:
// size, nesting depth and aliases. The library recurses once per nesting
// level and resolves every alias, so a megabyte of '[' or of '*a' costs it
// seconds and hundreds of megabytes; this scan is one linear pass that only
// has to be conservative (it may undercount nesting the library would accept
// cheaply, never overcount what it must accept). Pure.
//
// What it tracks: quoted scalars (which may span lines), comments, block
// scalars (| and >, whose lines are text), flow collections ([ and { at the
// start of a token, or anywhere inside a flow collection), block nesting by
// indentation plus compact indicators ("- - x"), and aliases (* at the start
// of a token).
import { MAX_YAML_ALIASES, MAX_YAML_BYTES, MAX_YAML_DEPTH } from './limits.ts';

export interface YamlLimitHit {
  /** offset in the text where the limit was crossed */
  offset: number;
  message: string;
}

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;

const isBlank = (c: number): boolean => c === SPACE || c === TAB || c === CR;
const FLOW_OPEN = new Set([0x5b, 0x7b]); // [ {
const FLOW_CLOSE = new Set([0x5d, 0x7d]); // ] }
/** after these, the next non-blank character starts a token */
const TOKEN_BEFORE = new Set([0x5b, 0x7b, 0x2c]); // [ { ,
/** block indicators that start a token when followed by a blank: - ? : */
const INDICATOR = new Set([0x2d, 0x3f, 0x3a]);

/** The first limit the text crosses, or null. */
export function checkYamlLimits(text: string): YamlLimitHit | null {
  if (text.length > MAX_YAML_BYTES || Buffer.byteLength(text) > MAX_YAML_BYTES)
    return { offset: 0, message: `the YAML is larger than ${MAX_YAML_BYTES} bytes: it is not parsed` };
  const deep = (offset: number): YamlLimitHit => ({
    offset,
    message: `the YAML nests deeper than ${MAX_YAML_DEPTH} levels here: it is not parsed`,
  });
  const n = text.length;
  const indents: number[] = [];
  let flow = 0;
  let aliases = 0;
  /** inside a quoted scalar: its quote character, else 0 */
  let quote = 0;
  /** a block scalar's text: lines indented at least `min` (then exactly as its first line) */
  let scalar: { min: number; indent: number } | null = null;
  let i = 0;
  while (i < n) {
    // ---- the start of a line: its indentation
    const start = i;
    while (i < n && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
    const col = i - start;
    const first = i < n ? text.charCodeAt(i) : LF;
    const empty = first === LF || first === CR || first === 0x23; // blank or comment line
    if (scalar) {
      if (empty && first !== 0x23) {
        i = nextLine(text, i);
        continue;
      }
      if (scalar.indent < 0 && col >= scalar.min) scalar.indent = col;
      if (scalar.indent >= 0 && col >= scalar.indent) {
        i = nextLine(text, i);
        continue;
      }
      scalar = null;
    }
    if (quote === 0 && flow === 0 && !empty) {
      if (col === 0 && (text.startsWith('---', i) || text.startsWith('...', i))) indents.length = 0;
      while (indents.length > 0 && indents[indents.length - 1]! > col) indents.pop();
      if (indents.length === 0 || indents[indents.length - 1]! < col) indents.push(col);
      if (indents.length > MAX_YAML_DEPTH) return deep(i);
    }
    // ---- the rest of the line
    let depth = indents.length;
    /** the last significant character outside quotes on this line (0: none yet) */
    let prev = 0;
    /** column of the last token started on this line (the owner of a block scalar) */
    let tokenCol = col;
    /** only block indicators so far on this line */
    let leading = quote === 0;
    /** inside an anchor (&a) or tag (!t): the next token starts after the blank */
    let property = false;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === LF) break;
      if (quote !== 0) {
        if (c === quote) {
          if (quote === 0x27 && text.charCodeAt(i + 1) === 0x27)
            i++; // '' inside '...'
          else {
            quote = 0;
            prev = c;
          }
        } else if (c === 0x5c && quote === 0x22) i++; // \x inside "..."
        i++;
        continue;
      }
      if (isBlank(c)) {
        if (property) prev = 0x2c;
        property = false;
        i++;
        continue;
      }
      if (c === 0x23 && (i === start || isBlank(text.charCodeAt(i - 1)))) {
        i = nextLine(text, i) - 1; // a comment: to the end of the line
        break;
      }
      const tokenStart =
        prev === 0 || TOKEN_BEFORE.has(prev) || (INDICATOR.has(prev) && isBlank(text.charCodeAt(i - 1)));
      if (tokenStart && c !== 0x3a) tokenCol = i - start;
      if (tokenStart && (c === 0x22 || c === 0x27)) {
        quote = c;
        leading = false;
        i++;
        continue;
      }
      const blankAfter = i + 1 >= n || isBlank(text.charCodeAt(i + 1)) || text.charCodeAt(i + 1) === LF;
      if ((tokenStart || flow > 0) && FLOW_OPEN.has(c)) {
        flow++;
        if (depth + flow > MAX_YAML_DEPTH) return deep(i);
      } else if (flow > 0 && FLOW_CLOSE.has(c)) flow--;
      else if (tokenStart && c === 0x2a) {
        if (++aliases > MAX_YAML_ALIASES)
          return {
            offset: i,
            message: `the YAML holds more than ${MAX_YAML_ALIASES} aliases: it is not parsed`,
          };
      } else if (tokenStart && (c === 0x26 || c === 0x21)) property = true;
      else if (flow === 0 && leading && INDICATOR.has(c) && c !== 0x3a && blankAfter) {
        // a compact indicator after the line's first: "- - x" nests one level more
        if (prev !== 0 && ++depth > MAX_YAML_DEPTH) return deep(i);
      } else if (flow === 0 && tokenStart && (c === 0x7c || c === 0x3e)) {
        const header = blockHeader(text, i + 1);
        if (header !== null) scalar = { min: tokenCol + 1, indent: header > 0 ? tokenCol + header : -1 };
      }
      if (!(INDICATOR.has(c) && blankAfter)) leading = false;
      prev = c;
      i++;
    }
    i++; // past the newline
  }
  return null;
}

/** The offset after the end of the line that holds `from`. */
function nextLine(text: string, from: number): number {
  const e = text.indexOf('\n', from);
  return e < 0 ? text.length : e + 1;
}

/**
 * After | or >: optional chomping and indentation indicators, then a blank, a
 * comment or the end of the line. The indentation indicator (0 when absent),
 * or null when this is not a block scalar header.
 */
function blockHeader(text: string, from: number): number | null {
  let i = from;
  let indent = 0;
  while (i < text.length && /[-+1-9]/.test(text[i]!)) {
    if (text[i] !== '-' && text[i] !== '+') indent = Number(text[i]);
    i++;
  }
  const c = i < text.length ? text.charCodeAt(i) : LF;
  return c === LF || isBlank(c) ? indent : null;
}
