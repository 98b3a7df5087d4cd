// bpfgate nats setup: create the JetStream stream bpfgate publishes into (or
// check the one that is there) and say what was done. The default is safe on
// a single server (one replica); a cluster passes --replicas 3.
import { flagSet, parseCommandArgs } from '../../args.ts';
import { UsageError } from '../../errors.ts';
import { openConnection, withTimeout } from '../../nats/connect.ts';
import { natsFlagHelp, natsFlagOptions, parseNatsFlags } from '../../nats/flags.ts';
import { DEFAULT_NATS_URL } from '../../nats/options.ts';
import { defaultStreamSpec, type StreamSetup, setupStream } from '../../nats/stream.ts';
import { DEFAULT_SUBJECT_PREFIX } from '../../sinks/subject.ts';
import { EXIT } from '../exit.ts';
import { UnreachableError } from './tail.ts';

const D = defaultStreamSpec(DEFAULT_SUBJECT_PREFIX);

const HELP = `usage: bpfgate nats setup [options]

Create the JetStream stream that stores bpfgate's events, or check the one
that exists (it is never changed), and print what was done.

${natsFlagHelp(`server (repeatable; default $BPFGATE_NATS_URL, else ${DEFAULT_NATS_URL})`)}
  --stream NAME         stream name (default ${D.name})
  --subject-prefix P    the daemons' nats.subjectPrefix (default ${DEFAULT_SUBJECT_PREFIX}): the stream stores P.>
  --replicas N          copies of each event (default ${D.replicas}: a single server; 3 on a cluster)
  --max-age AGE         keep events this long: 30d, 12h, 0 for ever (default 30d)
  --max-bytes SIZE      keep at most this much: 10GiB, 500MiB, -1 for no limit (default 10GiB)
  --dupe-window AGE     how long a retried event is recognised (default 1h)
  --json                print the result as JSON
  -h, --help            show this help

Exit status: 0 the stream is ready, 1 it exists but does not fit bpfgate (the
problems are listed), 2 usage error, 4 NATS cannot be reached or refused.
`;

const AGE_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

/** "30d", "12h", "90s", "0" -> ms. */
export function parseAge(flag: string, v: string): number {
  if (v === '0') return 0;
  const m = /^(\d+)([smhd])$/.exec(v);
  if (!m) throw new UsageError(`${flag}: '${v}' is not an age such as 30d, 12h, 90s (or 0)`);
  return Number(m[1]) * AGE_UNITS[m[2]!]!;
}

/** "10GiB", "500MiB", "4096", "-1" -> bytes. */
export function parseSize(flag: string, v: string): number {
  if (v === '-1') return -1;
  const m = /^(\d+)(B|KiB|MiB|GiB|TiB)?$/.exec(v);
  if (!m) throw new UsageError(`${flag}: '${v}' is not a size such as 10GiB, 500MiB (or -1)`);
  return Number(m[1]) * SIZE_UNITS[m[2] ?? '']!;
}

function human(ms: number): string {
  if (ms === 0) return 'for ever';
  for (const [u, n] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % n === 0) return `${ms / n}${u}`;
  return `${ms / 1000}s`;
}

function bytes(n: number): string {
  if (n < 0) return 'no limit';
  for (const u of ['TiB', 'GiB', 'MiB', 'KiB'] as const)
    if (n % SIZE_UNITS[u]! === 0) return `${n / SIZE_UNITS[u]!}${u}`;
  return `${n} bytes`;
}

/** The result as text. */
export function renderSetup(r: StreamSetup, server: string): string {
  const what =
    r.action === 'created'
      ? `created stream ${r.name} on ${server}`
      : `stream ${r.name} already exists on ${server}; left as it is`;
  const lines = [
    what,
    `  subjects         ${r.subjects.join(', ')}`,
    `  replicas         ${r.replicas}`,
    `  keeps events     ${human(r.maxAgeMs)}, at most ${bytes(r.maxBytes)} (the oldest are discarded)`,
    `  duplicate window ${human(r.duplicateWindowMs)} (a retried event id is stored once)`,
  ];
  for (const p of r.problems) lines.push(`problem: ${p}`);
  if (r.problems.length === 0) lines.push(`ready: bpfgate run --nats ${server} publishes into it`);
  return `${lines.join('\n')}\n`;
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) throw new UsageError(`a subcommand is needed\n\n${HELP}`);
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (sub !== 'setup') throw new UsageError(`unknown subcommand '${sub}' (bpfgate nats setup)`);
  const v = parseCommandArgs('nats setup', rest, {
    ...natsFlagOptions(),
    ...flagSet(['stream', 'subject-prefix', 'replicas', 'max-age', 'max-bytes', 'dupe-window'], ['json']),
  }).values as Record<string, string | boolean | string[] | undefined>;
  if (v.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const nats = parseNatsFlags(v, (line) => process.stderr.write(`bpfgate nats: ${line}\n`));
  const env = process.env.BPFGATE_NATS_URL?.split(',').filter((s) => s !== '');
  const servers = nats.servers.length > 0 ? nats.servers : env && env.length > 0 ? env : [DEFAULT_NATS_URL];
  const prefix = (v['subject-prefix'] as string | undefined) ?? DEFAULT_SUBJECT_PREFIX;
  const spec = defaultStreamSpec(prefix);
  if (typeof v.stream === 'string') spec.name = v.stream;
  if (typeof v.replicas === 'string') {
    if (!/^[1-5]$/.test(v.replicas)) throw new UsageError('--replicas: 1 to 5');
    spec.replicas = Number(v.replicas);
  }
  if (typeof v['max-age'] === 'string') spec.maxAgeMs = parseAge('--max-age', v['max-age']);
  if (typeof v['max-bytes'] === 'string') spec.maxBytes = parseSize('--max-bytes', v['max-bytes']);
  if (typeof v['dupe-window'] === 'string')
    spec.duplicateWindowMs = parseAge('--dupe-window', v['dupe-window']);
  let nc: Awaited<ReturnType<typeof openConnection>>;
  try {
    nc = await openConnection({ servers, auth: nats.auth, name: 'bpfgate-setup', timeoutMs: 5000 });
  } catch (err) {
    throw new UnreachableError(`cannot connect to ${servers.join(', ')}: ${(err as Error).message}`, err);
  }
  let r: StreamSetup;
  try {
    r = await withTimeout(setupStream(nc, spec), 10_000, 'the stream request');
  } catch (err) {
    const msg = (err as Error).message;
    const hint = /replicas/i.test(msg) ? ' (a single server holds one replica: --replicas 1)' : '';
    const noJs = /503|no responders|jetstream not enabled/i.test(msg)
      ? ' (is JetStream enabled on the server? nats-server -js)'
      : '';
    throw new UnreachableError(`${nc.getServer()} refused: ${msg}${hint}${noJs}`, err);
  } finally {
    await nc.close();
  }
  process.stdout.write(v.json ? `${JSON.stringify(r)}\n` : renderSetup(r, servers[0]!));
  return r.problems.length === 0 ? EXIT.ok : EXIT.failed;
}
