// Host selectors: which hosts of the fleet a policy in the bucket applies to.
// A policy names its hosts in one metadata label, `bpfgate.dev/hosts`, whose
// value is a selector over the host's labels (the daemon's fleet.labels):
//
//   *                          every host (the same as no selector at all)
//   role=web                   the label is present with this value
//   env!=dev                   the label is absent or has another value
//   role in (web, api)         the label is present with one of the values
//   env notin (dev, test)      the label is absent or none of the values
//   gpu                        the label is present (any value)
//   !gpu                       the label is absent
//
// Terms are separated by commas and must all hold: `role=web, env=prod`.
// Pure: no I/O.

/** The metadata label that holds a policy's host selector. */
export const HOSTS_LABEL = 'bpfgate.dev/hosts';

export type HostLabels = Readonly<Record<string, string>>;

export type SelectorOp = 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'absent';

export interface SelectorTerm {
  key: string;
  op: SelectorOp;
  values: string[];
}

/** null terms: every host */
export interface Selector {
  text: string;
  terms: SelectorTerm[] | null;
}

export type SelectorParse = { ok: true; selector: Selector } | { ok: false; message: string };

/** A label key: letters, digits, '.', '_', '/', '-'; starts with a letter or digit. */
export const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
/** A label value: letters, digits, '.', '_', '-'; not empty. */
export const LABEL_VALUE = /^[A-Za-z0-9._-]+$/;

/** Every host: what a policy without a selector applies to. */
export const EVERY_HOST: Selector = Object.freeze({ text: '*', terms: null });

/** Split at commas that are not inside parentheses. */
function splitTerms(text: string): string[] | string {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') {
      if (depth > 0) return 'nested parentheses';
      depth++;
    } else if (c === ')') {
      if (depth === 0) return "a ')' without '('";
      depth--;
    } else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth > 0) return "a '(' without ')'";
  out.push(text.slice(start));
  return out.map((t) => t.trim());
}

function key(k: string, term: string): string | null {
  return LABEL_KEY.test(k) ? null : `'${k}' in '${term}' is not a label key`;
}

function parseTerm(term: string): SelectorTerm | string {
  if (term === '') return 'an empty term (two commas, or a comma at an end)';
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
  if (set) {
    const [, k = '', op = 'in', list = ''] = set;
    const bad = key(k, term);
    if (bad) return bad;
    const values = list.split(',').map((v) => v.trim());
    if (values.length === 0 || values.some((v) => v === ''))
      return `'${term}' needs a comma-separated list of values`;
    const wrong = values.find((v) => !LABEL_VALUE.test(v));
    if (wrong !== undefined) return `'${wrong}' in '${term}' is not a label value`;
    return { key: k, op: op as 'in' | 'notin', values };
  }
  const cmp = /^([^=!\s]+)\s*(!=|==|=)\s*(.*)$/.exec(term);
  if (cmp) {
    const [, k = '', op = '=', v = ''] = cmp;
    const bad = key(k, term);
    if (bad) return bad;
    if (!LABEL_VALUE.test(v)) return `'${v}' in '${term}' is not a label value`;
    return { key: k, op: op === '!=' ? 'neq' : 'eq', values: [v] };
  }
  const absent = term.startsWith('!');
  const k = absent ? term.slice(1).trim() : term;
  const bad = key(k, term);
  if (bad) return `${bad} (expected key=value, key!=value, key in (a, b), key notin (a, b), key or !key)`;
  return { key: k, op: absent ? 'absent' : 'exists', values: [] };
}

/** Parse a selector; the message of a failure says what is wrong, for a located diagnostic. */
export function parseSelector(text: string): SelectorParse {
  const trimmed = text.trim();
  if (trimmed === '*') return { ok: true, selector: { text: trimmed, terms: null } };
  if (trimmed === '') return { ok: false, message: "an empty host selector (use '*' for every host)" };
  const parts = splitTerms(trimmed);
  if (typeof parts === 'string') return { ok: false, message: `host selector '${trimmed}': ${parts}` };
  const terms: SelectorTerm[] = [];
  for (const p of parts) {
    const t = parseTerm(p);
    if (typeof t === 'string') return { ok: false, message: `host selector '${trimmed}': ${t}` };
    terms.push(t);
  }
  return { ok: true, selector: { text: trimmed, terms } };
}

function holds(t: SelectorTerm, labels: HostLabels): boolean {
  const has = Object.hasOwn(labels, t.key);
  const v = has ? labels[t.key] : undefined;
  switch (t.op) {
    case 'eq':
      return v === t.values[0];
    case 'neq':
      return v !== t.values[0];
    case 'in':
      return v !== undefined && t.values.includes(v);
    case 'notin':
      return v === undefined || !t.values.includes(v);
    case 'exists':
      return has;
    case 'absent':
      return !has;
  }
}

/** Whether a host with these labels is selected. */
export function selects(selector: Selector, labels: HostLabels): boolean {
  return selector.terms === null || selector.terms.every((t) => holds(t, labels));
}

/** A problem with a host's own labels (the daemon's fleet.labels), or null. */
export function checkHostLabels(labels: Readonly<Record<string, unknown>>): string | null {
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k)) return `'${k}' is not a label key`;
    if (typeof v !== 'string' || !LABEL_VALUE.test(v))
      return `label ${k}: '${String(v)}' is not a label value`;
  }
  return null;
}
