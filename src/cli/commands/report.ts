// bpfgate report: what audit-mode policies would have blocked, per policy and
// rule, from a file of events or a JetStream stream, over a time range.
//   bpfgate report FILE...|- [--since T] [--until T] [--html FILE] [--json]
//   bpfgate report --nats URL --stream NAME [--subject S] [auth] [--since T] ...
import { writeFileSync } from 'node:fs';
import { UsageError } from '../../errors.ts';
import { renderHtml } from '../../report/html.ts';
import { Summariser } from '../../report/summary.ts';
import { renderText } from '../../report/text.ts';
import { eventInputHelp, parseEventCommand, parseEventInput, readEvents } from '../events-input.ts';
import { EXIT } from '../exit.ts';

const HELP = `usage: bpfgate report [FILE...|-] [options]
       bpfgate report --nats URL --stream NAME [options]

Summarises violations per policy and rule: how often each would have been
blocked or killed (and was), the top executables and cgroups, first and last
seen. Read it before switching a policy from audit to enforce.

${eventInputHelp()}
  --top N            executables and cgroups listed per rule (default 5)
  --html FILE        also write a self-contained HTML page
  --json             print the summary as JSON instead of text
`;

export async function run(args: string[], now: () => number = Date.now): Promise<number> {
  const parsed = parseEventCommand(
    'report',
    args,
    {
      top: { type: 'string' },
      html: { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  if (parsed === null) return EXIT.ok;
  const v = parsed.values;
  const input = parseEventInput('report', v, parsed.positionals, now(), HELP);
  let top: number | undefined;
  if (typeof v.top === 'string') {
    top = Number(v.top);
    if (!Number.isInteger(top) || top < 1) throw new UsageError(`--top: a whole number >= 1, not '${v.top}'`);
  }
  const summariser = new Summariser({
    sinceMs: input.sinceMs,
    untilMs: input.untilMs,
    ...(top !== undefined ? { top } : {}),
  });
  try {
    await readEvents(input, summariser);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const from =
      input.servers.length > 0
        ? `${input.servers.join(', ')} (stream ${String(input.stream)})`
        : input.files.join(', ');
    process.stderr.write(`bpfgate report: cannot read ${from}: ${(err as Error).message}\n`);
    return EXIT.runtime;
  }
  const report = summariser.result();
  if (typeof v.html === 'string') writeFileSync(v.html, renderHtml(report));
  process.stdout.write(v.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
  return EXIT.ok;
}
