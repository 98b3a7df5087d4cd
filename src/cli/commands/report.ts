// bpfgate report: what audit-mode policies would have blocked, per policy and
// rule, from a file of events or a JetStream stream, over a time range.
//   bpfgate report FILE...|- [--since T] [--until T] [--html FILE] [--json]
//   bpfgate report --nats URL --stream NAME [--subject S] [auth] [--since T] ...
import { writeFileSync } from 'node:fs';
import { flagSet, parseCommandArgs } from '../../args.ts';
import { UsageError } from '../../errors.ts';
import { natsFlagHelp, natsFlagOptions, parseNatsFlags } from '../../nats/flags.ts';
import { renderHtml } from '../../report/html.ts';
import { readEventLines, readStream } from '../../report/source.ts';
import { parseTimeSpec, Summariser, TimeSpecError } from '../../report/summary.ts';
import { renderText } from '../../report/text.ts';
import { EXIT } from '../exit.ts';

const HELP = `usage: bpfgate report [FILE...|-] [options]
       bpfgate report --nats URL --stream NAME [options]

Summarises violations per policy and rule: how often each would have been
blocked or killed (and was), the top executables and cgroups, first and last
seen. Read it before switching a policy from audit to enforce.

  FILE...            JSON lines of native events (bpfgate run's stdout, an export); - for stdin
${natsFlagHelp('read a JetStream stream instead (repeatable)')}
  --stream NAME      the stream (e.g. BPFGATE)
  --subject S        only these subjects (default: the whole stream)
  --since T          from T: RFC 3339 (2026-11-24T08:00:00Z), a date, or a duration ago (30m, 24h, 7d)
  --until T          up to T (exclusive), same forms (default: now)
  --top N            executables and cgroups listed per rule (default 5)
  --html FILE        also write a self-contained HTML page
  --json             print the summary as JSON instead of text
`;

export async function run(args: string[], now: () => number = Date.now): Promise<number> {
  const options = {
    ...natsFlagOptions(),
    ...flagSet(['stream', 'subject', 'since', 'until', 'top', 'html'], ['json']),
  };

  const parsed = parseCommandArgs('report', args, options, { positionals: true });
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const files = parsed.positionals;
  const nats = parseNatsFlags(v, (line) => process.stderr.write(`bpfgate report: ${line}\n`));
  const servers = nats.servers;
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
    if (servers.length > 0)
      await readStream(
        {
          servers,
          stream: v.stream as string,
          ...(typeof v.subject === 'string' ? { subject: v.subject } : {}),
          auth: nats.auth,
          sinceMs,
        },
        summariser,
      );
    else for (const f of files) await readEventLines(f, summariser);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const from = servers.length > 0 ? `${servers.join(', ')} (stream ${String(v.stream)})` : files.join(', ');
    process.stderr.write(`bpfgate report: cannot read ${from}: ${(err as Error).message}\n`);
    return EXIT.runtime;
  }
  const report = summariser.result();
  if (typeof v.html === 'string') writeFileSync(v.html, renderHtml(report));
  process.stdout.write(v.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
  return EXIT.ok;
}
