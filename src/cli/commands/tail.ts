// bpfgate tail: watch violations live from NATS, one line each.
//   bpfgate tail [--nats URL...] [--subject S] [--policy P] [--outcome O]
//                [NATS auth flags, src/nats/flags.ts] [--json]
// Colour only when stdout is a TTY (and NO_COLOR is unset).
import { parseArgs } from 'node:util';
import { UsageError } from '../../errors.ts';
import { printable } from '../../events/printable.ts';
import { describeTarget } from '../../events/target.ts';
import { openConnection } from '../../nats/connect.ts';
import { natsFlagHelp, natsFlagOptions, parseNatsFlags } from '../../nats/flags.ts';
import { DEFAULT_NATS_URL } from '../../nats/options.ts';
import { DEFAULT_SUBJECT_PREFIX } from '../../sinks/subject.ts';
import { EXIT } from '../exit.ts';

const HELP = `usage: bpfgate tail [options]

${natsFlagHelp(`server (repeatable; default ${DEFAULT_NATS_URL})`)}
  --subject S        subject to watch (default ${DEFAULT_SUBJECT_PREFIX}.>)
  --policy P         only this policy
  --outcome O        only this outcome (denied, killed, allowed, would-block, would-kill)
  --json             print each event as received
`;

const OUTCOMES = new Set(['denied', 'killed', 'allowed', 'would-block', 'would-kill']);

const COLORS: Record<string, string> = {
  denied: '\x1b[31m',
  killed: '\x1b[35m',
  allowed: '\x1b[36m',
  'would-block': '\x1b[33m',
  'would-kill': '\x1b[33m',
  loss: '\x1b[41;97m',
  policy_error: '\x1b[41;97m',
};

type Ev = Record<string, unknown> & { type?: string };

/** One line for an event (native JSON or OCSF). Every text from the event is printable(): no terminal escapes. */
export function formatLine(ev: Ev, color: boolean): string {
  const paint = (key: string, s: string) => (color && COLORS[key] ? `${COLORS[key]}${s}\x1b[0m` : s);
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
  const t = (v: unknown) => printable(String(v));
  if (ev.metadata && typeof ev.class_uid === 'number') {
    const u = ((ev.unmapped as Ev | undefined)?.bpfgate ?? {}) as Ev;
    const policy = (ev.policy as Ev | undefined)?.uid ?? '?';
    const time = new Date(Number(ev.time)).toISOString();
    return `${dim(time)} ${paint(String(u.outcome), t(u.outcome).padEnd(11))} ${t(policy)} ${t(ev.type_name)} ${t(ev.message ?? '')}`;
  }
  const time = t(ev.time ?? '');
  if (ev.type === 'loss') {
    const l = ev.loss as { source: string; count: number };
    return `${dim(time)} ${paint('loss', 'LOSS')} ${t(l.count)} event(s) lost (${t(l.source)}) on ${t(ev.host)}`;
  }
  if (ev.type === 'policy_error') {
    const d = (ev.diagnostics as { file: string; line: number; column: number; message: string }[]) ?? [];
    const first = d[0] ? ` ${t(d[0].file)}:${t(d[0].line)}:${t(d[0].column)}: ${t(d[0].message)}` : '';
    return `${dim(time)} ${paint('policy_error', 'POLICY ERROR')} ${t(ev.host)}: ${d.length} diagnostic(s)${first}`;
  }
  const p = ev.policy as { name: string; rule: string };
  const proc = ev.process as { tgid: number; comm: string; executable?: string; user?: string; uid: number };
  const who = `${t(proc.executable ?? proc.comm)}[${t(proc.tgid)}] ${t(proc.user ?? `uid=${proc.uid}`)}`;
  const outcome = String(ev.outcome);
  const count = typeof ev.count === 'number' ? ` ×${ev.count}` : '';
  const target = describeTarget(String(ev.kind), ev.target as never);
  return `${dim(time)} ${paint(outcome, t(outcome).padEnd(11))} ${t(p.name)}/${t(p.rule)} ${t(ev.host)} ${who} ${t(ev.kind)} ${t(target)}${count}`;
}

/** Does an event pass the --policy / --outcome filters? */
export function matches(ev: Ev, policy?: string, outcome?: string): boolean {
  const u = ((ev.unmapped as Ev | undefined)?.bpfgate ?? {}) as Ev;
  const evPolicy = (ev.policy as { name?: string } | undefined)?.name;
  const evOutcome = (ev.outcome ?? u.outcome) as string | undefined;
  if (policy !== undefined && evPolicy !== policy) return false;
  if (outcome !== undefined && evOutcome !== outcome) return false;
  return true;
}

export async function run(args: string[]): Promise<number> {
  let v: Record<string, unknown>;
  try {
    ({ values: v } = parseArgs({
      args,
      options: {
        ...natsFlagOptions(),
        subject: { type: 'string' },
        policy: { type: 'string' },
        outcome: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (v.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const outcome = v.outcome as string | undefined;
  if (outcome !== undefined && !OUTCOMES.has(outcome)) throw new UsageError(`unknown outcome '${outcome}'`);
  const nats = parseNatsFlags(v, (line) => process.stderr.write(`bpfgate tail: ${line}\n`));
  const servers = nats.servers.length > 0 ? nats.servers : [DEFAULT_NATS_URL];
  const subject = (v.subject as string | undefined) ?? `${DEFAULT_SUBJECT_PREFIX}.>`;
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const nc = await openConnection({
    servers,
    auth: nats.auth,
    name: 'bpfgate-tail',
    maxReconnectAttempts: -1,
  });
  const sub = nc.subscribe(subject);
  const stop = () => {
    void nc.drain();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for await (const m of sub) {
      let ev: Ev;
      try {
        ev = m.json() as Ev;
      } catch {
        continue;
      }
      if (!matches(ev, v.policy as string | undefined, outcome)) continue;
      process.stdout.write(`${v.json ? JSON.stringify(ev) : formatLine(ev, color)}\n`);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (!nc.isClosed()) await nc.close();
  }
  return EXIT.ok;
}
