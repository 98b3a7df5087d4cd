// bpfgate tail: watch violations live from NATS, one line each.
//   bpfgate tail [--nats URL] [--subject S] [--policy P] [--outcome O]
//                [--token T | --user U --password P | --nkey FILE | --creds FILE]
//                [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--json]
// Colour only when stdout is a TTY (and NO_COLOR is unset).
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { UsageError } from '../../errors.ts';
import { describeTarget } from '../../events/target.ts';
import { connectionOptions, DEFAULT_NATS_URL, type NatsAuth } from '../../sinks/options.ts';
import { DEFAULT_SUBJECT_PREFIX } from '../../sinks/subject.ts';

const HELP = `usage: bpfgate tail [options]

  --nats URL         server (default ${DEFAULT_NATS_URL})
  --subject S        subject to watch (default ${DEFAULT_SUBJECT_PREFIX}.>)
  --policy P         only this policy
  --outcome O        only this outcome (denied, killed, allowed, would-block, would-kill)
  --token T | --user U --password P | --nkey FILE | --creds FILE
  --tls-ca FILE  --tls-cert FILE  --tls-key FILE
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

/** One line for an event (native JSON or OCSF). */
export function formatLine(ev: Ev, color: boolean): string {
  const paint = (key: string, s: string) => (color && COLORS[key] ? `${COLORS[key]}${s}\x1b[0m` : s);
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
  if (ev.metadata && typeof ev.class_uid === 'number') {
    const u = ((ev.unmapped as Ev | undefined)?.bpfgate ?? {}) as Ev;
    const policy = (ev.policy as Ev | undefined)?.uid ?? '?';
    const time = new Date(Number(ev.time)).toISOString();
    return `${dim(time)} ${paint(String(u.outcome), String(u.outcome).padEnd(11))} ${policy} ${String(ev.type_name)} ${String(ev.message ?? '')}`;
  }
  const time = String(ev.time ?? '');
  if (ev.type === 'loss') {
    const l = ev.loss as { source: string; count: number };
    return `${dim(time)} ${paint('loss', 'LOSS')} ${l.count} event(s) lost (${l.source}) on ${String(ev.host)}`;
  }
  if (ev.type === 'policy_error') {
    const d = (ev.diagnostics as { file: string; line: number; column: number; message: string }[]) ?? [];
    const first = d[0] ? ` ${d[0].file}:${d[0].line}:${d[0].column}: ${d[0].message}` : '';
    return `${dim(time)} ${paint('policy_error', 'POLICY ERROR')} ${String(ev.host)}: ${d.length} diagnostic(s)${first}`;
  }
  const p = ev.policy as { name: string; rule: string };
  const proc = ev.process as { tgid: number; comm: string; executable?: string; user?: string; uid: number };
  const who = `${proc.executable ?? proc.comm}[${proc.tgid}] ${proc.user ?? `uid=${proc.uid}`}`;
  const outcome = String(ev.outcome);
  const count = typeof ev.count === 'number' ? ` ×${ev.count}` : '';
  const target = describeTarget(String(ev.kind), ev.target as never);
  return `${dim(time)} ${paint(outcome, outcome.padEnd(11))} ${p.name}/${p.rule} ${String(ev.host)} ${who} ${ev.kind} ${target}${count}`;
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
  let v: Record<string, string | boolean | undefined>;
  try {
    ({ values: v } = parseArgs({
      args,
      options: {
        nats: { type: 'string' },
        subject: { type: 'string' },
        policy: { type: 'string' },
        outcome: { type: 'string' },
        token: { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        nkey: { type: 'string' },
        creds: { type: 'string' },
        'tls-ca': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
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
    return 0;
  }
  const outcome = v.outcome as string | undefined;
  if (outcome !== undefined && !OUTCOMES.has(outcome)) throw new UsageError(`unknown outcome '${outcome}'`);
  if ((v.user === undefined) !== (v.password === undefined))
    throw new UsageError('--user and --password go together');
  const auth: NatsAuth = {};
  if (typeof v.token === 'string') auth.token = v.token;
  if (typeof v.user === 'string') {
    auth.user = v.user;
    auth.password = String(v.password);
  }
  if (typeof v.nkey === 'string') auth.nkeySeedFile = v.nkey;
  if (typeof v.creds === 'string') auth.credsFile = v.creds;
  if (v['tls-ca'] || v['tls-cert'] || v['tls-key']) {
    auth.tls = {
      ...(typeof v['tls-ca'] === 'string' ? { caFile: v['tls-ca'] } : {}),
      ...(typeof v['tls-cert'] === 'string' ? { certFile: v['tls-cert'] } : {}),
      ...(typeof v['tls-key'] === 'string' ? { keyFile: v['tls-key'] } : {}),
    };
  }
  const server = (v.nats as string | undefined) ?? DEFAULT_NATS_URL;
  const subject = (v.subject as string | undefined) ?? `${DEFAULT_SUBJECT_PREFIX}.>`;
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const nc = await connect({
    ...connectionOptions([server], auth, 'bpfgate-tail'),
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
  return 0;
}
