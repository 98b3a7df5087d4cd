// bpfgate report: what audit-mode policies would have blocked, per policy and
// rule, from a file of events or a JetStream stream, over a time range.
//   bpfgate report FILE...|- [--since T] [--until T] [--html FILE] [--json]
//   bpfgate report --nats URL --stream NAME [--subject S] [auth] [--since T] ...
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderHtml } from '../../report/html.ts';
import { readEventLines, readStream } from '../../report/source.ts';
import { parseTimeSpec, Summariser, TimeSpecError } from '../../report/summary.ts';
import { renderText } from '../../report/text.ts';
import { UsageError } from '../../errors.ts';
import type { NatsAuth } from '../../sinks/options.ts';

const HELP = `usage: bpfgate report [FILE...|-] [options]
       bpfgate report --nats URL --stream NAME [options]

Summarises violations per policy and rule: how often each would have been
blocked or killed (and was), the top executables and cgroups, first and last
seen. Read it before switching a policy from audit to enforce.

  FILE...            JSON lines of native events (bpfgate run's stdout, an export); - for stdin
  --nats URL         read a JetStream stream instead (repeatable)
  --stream NAME      the stream (e.g. BPFGATE)
  --subject S        only these subjects (default: the whole stream)
  --creds FILE | --token T | --user U --password P | --nkey FILE
  --tls-ca FILE  --tls-cert FILE  --tls-key FILE
  --since T          from T: RFC 3339 (2026-11-24T08:00:00Z), a date, or a duration ago (30m, 24h, 7d)
  --until T          up to T (exclusive), same forms (default: now)
  --top N            executables and cgroups listed per rule (default 5)
  --html FILE        also write a self-contained HTML page
  --json             print the summary as JSON instead of text
`;

const AUTH_FLAGS: Record<string, (a: NatsAuth, v: string) => void> = {
  creds: (a, v) => {
    a.credsFile = v;
  },
  token: (a, v) => {
    a.token = v;
  },
  user: (a, v) => {
    a.user = v;
  },
  password: (a, v) => {
    a.password = v;
  },
  nkey: (a, v) => {
    a.nkeySeedFile = v;
  },
  'tls-ca': (a, v) => {
    a.tls = { ...a.tls, caFile: v };
  },
  'tls-cert': (a, v) => {
    a.tls = { ...a.tls, certFile: v };
  },
  'tls-key': (a, v) => {
    a.tls = { ...a.tls, keyFile: v };
  },
};

export async function run(args: string[], now: () => number = Date.now): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    nats: { type: 'string', multiple: true },
    stream: { type: 'string' },
    subject: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    top: { type: 'string' },
    html: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const k of Object.keys(AUTH_FLAGS)) options[k] = { type: 'string' };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${HELP}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const files = parsed.positionals;
  const servers = (v.nats as string[] | undefined) ?? [];
  if (servers.length > 0 && files.length > 0) throw new UsageError('give FILEs or --nats, not both');
  if (servers.length === 0 && files.length === 0)
    throw new UsageError(`a FILE or --nats is needed\n\n${HELP}`);
  if (servers.length > 0 && typeof v.stream !== 'string') throw new UsageError('--nats needs --stream NAME');
  const at = now();
  let sinceMs: number | null = null;
  let untilMs: number | null = null;
  try {
    if (typeof v.since === 'string') sinceMs = parseTimeSpec(v.since, at);
    if (typeof v.until === 'string') untilMs = parseTimeSpec(v.until, at);
  } catch (err) {
    if (err instanceof TimeSpecError) throw new UsageError(`--since/--until: ${err.message}`);
    throw err;
  }
  if (sinceMs !== null && untilMs !== null && untilMs <= sinceMs)
    throw new UsageError('--until must be later than --since');
  let top: number | undefined;
  if (typeof v.top === 'string') {
    top = Number(v.top);
    if (!Number.isInteger(top) || top < 1) throw new UsageError(`--top: a whole number >= 1, not '${v.top}'`);
  }
  const summariser = new Summariser({ sinceMs, untilMs, ...(top !== undefined ? { top } : {}) });
  try {
    await read(v, servers, files, sinceMs, summariser);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    process.stderr.write(`bpfgate report: ${(err as Error).message}\n`);
    return 4;
  }
  const report = summariser.result();
  if (typeof v.html === 'string') writeFileSync(v.html, renderHtml(report));
  process.stdout.write(v.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
  return 0;
}

async function read(
  v: Record<string, unknown>,
  servers: string[],
  files: string[],
  sinceMs: number | null,
  summariser: Summariser,
): Promise<void> {
  if (servers.length > 0) {
    const auth: NatsAuth = {};
    for (const [flag, set] of Object.entries(AUTH_FLAGS)) if (typeof v[flag] === 'string') set(auth, v[flag]);
    if ((auth.user === undefined) !== (auth.password === undefined))
      throw new UsageError('--user and --password go together');
    await readStream(
      {
        servers,
        stream: v.stream as string,
        ...(typeof v.subject === 'string' ? { subject: v.subject } : {}),
        auth,
        sinceMs,
      },
      summariser,
    );
  } else {
    for (const f of files) await readEventLines(f, summariser);
  }
}
