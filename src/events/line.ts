// One line of text per event, for a person at a terminal: `bpfgate tail` and
// `bpfgate run` when its stdout is a terminal. Native JSON or OCSF in,
// "time outcome policy/rule process kind target" out; colours only when
// asked (the caller decides: a terminal, NO_COLOR unset). Pure.
import { printable } from './printable.ts';
import { describeTarget } from './target.ts';

const COLORS: Record<string, string> = {
  denied: '\x1b[31m',
  killed: '\x1b[35m',
  allowed: '\x1b[36m',
  'would-block': '\x1b[33m',
  'would-kill': '\x1b[33m',
  'would-kill-after': '\x1b[33m',
  'killed-after': '\x1b[35m',
  loss: '\x1b[41;97m',
  policy_error: '\x1b[41;97m',
  tamper: '\x1b[41;97m',
};

/** An event as received: native JSON or OCSF. */
export type AnyEvent = Record<string, unknown> & { type?: string };

export interface LineOptions {
  color: boolean;
  /** name the host (tail reads many hosts; run shows its own) */
  host?: boolean;
  /** the time as HH:MM:SS (local) instead of RFC 3339 */
  shortTime?: boolean;
}

function timeText(ev: AnyEvent, short: boolean): string {
  const raw = ev.time;
  const d = typeof raw === 'number' ? new Date(raw) : new Date(String(raw ?? ''));
  if (Number.isNaN(d.getTime())) return String(raw ?? '');
  if (!short) return typeof raw === 'string' ? raw : d.toISOString();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** One line for an event (native JSON or OCSF). */
export function formatLine(ev: AnyEvent, opts: LineOptions | boolean): string {
  const o: LineOptions = typeof opts === 'boolean' ? { color: opts, host: true } : opts;
  const paint = (key: string, s: string) => (o.color && COLORS[key] ? `${COLORS[key]}${s}\x1b[0m` : s);
  const dim = (s: string) => (o.color ? `\x1b[2m${s}\x1b[0m` : s);
  // every text from the event is printable(): no terminal escapes from what an actor named
  const t = (v: unknown) => printable(String(v));
  const time = dim(timeText(ev, o.shortTime === true));
  const on = (h: unknown) => (o.host === false ? '' : ` on ${t(h)}`);
  if (ev.metadata && typeof ev.class_uid === 'number') {
    const u = ((ev.unmapped as AnyEvent | undefined)?.bpfgate ?? {}) as AnyEvent;
    const policy = (ev.policy as AnyEvent | undefined)?.uid ?? '?';
    return `${time} ${paint(String(u.outcome), t(u.outcome).padEnd(11))} ${t(policy)} ${t(ev.type_name)} ${t(ev.message ?? '')}`;
  }
  if (ev.type === 'loss') {
    const l = ev.loss as { source: string; count: number };
    return `${time} ${paint('loss', 'LOSS')} ${t(l.count)} event(s) lost (${t(l.source)})${on(ev.host)}`;
  }
  if (ev.type === 'policy_error') {
    const d = (ev.diagnostics as { file: string; line: number; column: number; message: string }[]) ?? [];
    const first = d[0] ? ` ${t(d[0].file)}:${t(d[0].line)}:${t(d[0].column)}: ${t(d[0].message)}` : '';
    return `${time} ${paint('policy_error', 'POLICY ERROR')}${on(ev.host)}: ${d.length} diagnostic(s)${first}`;
  }
  if (ev.type === 'tamper') {
    const r = ((ev.tamper as { refused?: Record<string, number> } | undefined)?.refused ?? {}) as Record<
      string,
      number
    >;
    const what = Object.entries(r).map(([k, n]) => `${t(k)}×${t(n)}`);
    return `${time} ${paint('tamper', 'TAMPER')}${on(ev.host)}: self-protection refused ${what.join(' ')}`;
  }
  const p = ev.policy as { name: string; rule: string };
  const proc = ev.process as { tgid: number; comm: string; executable?: string; user?: string; uid: number };
  const who = `${t(proc.executable ?? proc.comm)}[${t(proc.tgid)}] ${t(proc.user ?? `uid=${proc.uid}`)}`;
  const outcome = String(ev.outcome);
  const count = typeof ev.count === 'number' ? ` ×${ev.count}` : '';
  const host = o.host === false ? '' : ` ${t(ev.host)}`;
  const target = describeTarget(String(ev.kind), ev.target as never);
  return `${time} ${paint(outcome, t(outcome).padEnd(11))} ${t(p.name)}/${t(p.rule)}${host} ${who} ${t(ev.kind)} ${t(target)}${count}`;
}

/** The event's id (native `id`, OCSF `metadata.uid`), for de-duplication; null when it has none. */
export function eventId(ev: AnyEvent): string | null {
  if (typeof ev.id === 'string') return ev.id;
  const uid = (ev.metadata as { uid?: unknown } | undefined)?.uid;
  return typeof uid === 'string' ? uid : null;
}

/**
 * The ids seen lately, to show each event once when it arrives more than
 * once (a publish retried after a lost acknowledgement reaches a plain
 * subscriber every time). Bounded: the oldest ids are forgotten first.
 */
export class RecentIds {
  readonly #max: number;
  readonly #ids = new Set<string>();

  constructor(max = 65_536) {
    this.#max = max;
  }

  /** True the first time an id is seen (and for events without an id). */
  first(id: string | null): boolean {
    if (id === null) return true;
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#max) this.#ids.delete(this.#ids.values().next().value as string);
    return true;
  }
}
