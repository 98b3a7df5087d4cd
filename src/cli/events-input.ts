// Where `report` and `learn` read events from, one way for both: FILE...
// (JSON lines; - for stdin) or a JetStream stream (--nats URL --stream NAME
// [--subject S] and the NATS auth flags), over an optional time range
// (--since, --until). The sources themselves are src/report/source.ts.
import { type FlagOptions, parseCommandArgs } from '../args.ts';
import { UsageError } from '../errors.ts';
import type { NatsAuth } from '../nats/auth.ts';
import { natsFlagHelp, natsFlagOptions, parseNatsFlags } from '../nats/flags.ts';
import { type EventConsumer, readEventLines, readStream } from '../report/source.ts';
import { parseTimeSpec, TimeSpecError } from '../report/summary.ts';

/** parseArgs option definitions for the event input. */
export function eventInputOptions(): FlagOptions {
  return {
    ...natsFlagOptions(),
    stream: { type: 'string' },
    subject: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
  };
}

/**
 * A command line of a command that reads events: the event input's options,
 * --help and the command's own, parsed by src/args.ts (an unknown flag is
 * refused with the closest one named). null when --help was asked (HELP is
 * then printed).
 */
export function parseEventCommand(
  command: string,
  args: string[],
  own: FlagOptions,
  help: string,
): { values: Record<string, unknown>; positionals: string[] } | null {
  const options: FlagOptions = { ...eventInputOptions(), ...own, help: { type: 'boolean', short: 'h' } };
  const parsed = parseCommandArgs(command, args, options, { positionals: true });
  if (parsed.values.help) {
    process.stdout.write(help);
    return null;
  }
  return parsed;
}

/** The usage lines for the event input. */
export function eventInputHelp(): string {
  return `  FILE...            JSON lines of native events (bpfgate run's stdout, an export); - for stdin
${natsFlagHelp('read a JetStream stream instead (repeatable)')}
  --stream NAME      the stream (e.g. BPFGATE)
  --subject S        only these subjects (default: the whole stream)
  --since T          from T: RFC 3339 (2026-11-24T08:00:00Z), a date, or a duration ago (30m, 24h, 7d)
  --until T          up to T (exclusive), same forms (default: now)`;
}

export interface EventInput {
  files: string[];
  /** NATS servers: read the stream instead of files */
  servers: string[];
  auth: NatsAuth;
  stream: string | undefined;
  subject: string | undefined;
  /** epoch milliseconds; null: open */
  sinceMs: number | null;
  untilMs: number | null;
}

/** The event input of a parsed command line; UsageError (with `help`) for what is missing or wrong. */
export function parseEventInput(
  command: string,
  values: Record<string, unknown>,
  files: string[],
  at: number,
  help: string,
): EventInput {
  const nats = parseNatsFlags(values, (line) => process.stderr.write(`bpfgate ${command}: ${line}\n`));
  const servers = nats.servers;
  if (servers.length > 0 && files.length > 0) throw new UsageError('give FILEs or --nats, not both');
  if (servers.length === 0 && files.length === 0)
    throw new UsageError(`a FILE or --nats is needed\n\n${help}`);
  if (servers.length > 0 && typeof values.stream !== 'string')
    throw new UsageError('--nats needs --stream NAME');
  let sinceMs: number | null = null;
  let untilMs: number | null = null;
  try {
    if (typeof values.since === 'string') sinceMs = parseTimeSpec(values.since, at);
    if (typeof values.until === 'string') untilMs = parseTimeSpec(values.until, at);
  } catch (err) {
    if (err instanceof TimeSpecError) throw new UsageError(`--since/--until: ${err.message}`);
    throw err;
  }
  if (sinceMs !== null && untilMs !== null && untilMs <= sinceMs)
    throw new UsageError('--until must be later than --since');
  return {
    files,
    servers,
    auth: nats.auth,
    stream: typeof values.stream === 'string' ? values.stream : undefined,
    subject: typeof values.subject === 'string' ? values.subject : undefined,
    sinceMs,
    untilMs,
  };
}

/** Feed every event of the input to the consumer (I/O errors propagate). */
export async function readEvents(input: EventInput, into: EventConsumer): Promise<void> {
  if (input.servers.length > 0) {
    await readStream(
      {
        servers: input.servers,
        stream: input.stream as string,
        ...(input.subject !== undefined ? { subject: input.subject } : {}),
        auth: input.auth,
        sinceMs: input.sinceMs,
      },
      into,
    );
  } else for (const f of input.files) await readEventLines(f, into);
}

/** What was read, in words (for headers). */
export function describeInput(input: EventInput): string {
  return input.servers.length > 0 ? `stream ${input.stream}` : input.files.join(', ');
}
