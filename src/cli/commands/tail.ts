// bpfgate tail: watch violations live, one line each, from the local daemon
// (its event socket, no NATS needed) or from NATS (--nats, every host).
//   bpfgate tail [--socket PATH] [--policy P] [--outcome O] [--json]
//   bpfgate tail --nats URL... [--subject S] [NATS auth flags, src/nats/flags.ts] ...
// Each event is shown once, by id (a publish retried after a lost
// acknowledgement reaches a plain subscriber every time). Colour only when
// stdout is a terminal and NO_COLOR is unset.
import { createConnection } from 'node:net';
import { createInterface } from 'node:readline';
import { Outcome } from '../../abi/layout.ts';
import { flagSet, parseCommandArgs } from '../../args.ts';
import { BpfgateError, PrivilegeError, UsageError } from '../../errors.ts';
import { type AnyEvent, eventId, formatLine, RecentIds } from '../../events/line.ts';
import { openConnection } from '../../nats/connect.ts';
import { natsFlagHelp, natsFlagOptions, parseNatsFlags } from '../../nats/flags.ts';
import { DEFAULT_EVENTS_SOCKET } from '../../sinks/local.ts';
import { DEFAULT_SUBJECT_PREFIX } from '../../sinks/subject.ts';
import { EXIT } from '../exit.ts';

export { formatLine } from '../../events/line.ts';

const HELP = `usage: bpfgate tail [options]

Show violations as they happen, one line each. Without --nats, from the
daemon running on this machine (its local socket; root only); with --nats,
from NATS (every host that publishes there).

  --socket PATH      the daemon's event socket (default ${DEFAULT_EVENTS_SOCKET}) [BPFGATE_EVENTS_SOCKET]
${natsFlagHelp('read from NATS instead (repeatable)')}
  --subject S        with --nats: the subject to watch (default ${DEFAULT_SUBJECT_PREFIX}.>)
  --policy P         only this policy
  --outcome O        only this outcome (${Object.keys(Outcome).join(', ')})
  --json             print each event as received
  -h, --help         show this help

Exit status: 0 stopped (Ctrl-C), 2 usage error, 3 no permission to read the
socket, 4 no daemon or NATS server to read from.
`;

const OUTCOMES = new Set<string>(Object.keys(Outcome));

/** Does an event pass the --policy / --outcome filters? */
export function matches(ev: AnyEvent, policy?: string, outcome?: string): boolean {
  const u = ((ev.unmapped as AnyEvent | undefined)?.bpfgate ?? {}) as AnyEvent;
  const evPolicy = (ev.policy as { name?: string } | undefined)?.name;
  const evOutcome = (ev.outcome ?? u.outcome) as string | undefined;
  if (policy !== undefined && evPolicy !== policy) return false;
  if (outcome !== undefined && evOutcome !== outcome) return false;
  return true;
}

/** Why a command cannot reach what it reads from (exit 4). */
export class UnreachableError extends BpfgateError {
  constructor(message: string, cause?: unknown) {
    super('UNREACHABLE', message, { cause });
  }
}

/** Lines from the local daemon's socket until it closes or the user stops. */
async function fromSocket(path: string, show: (text: string) => void): Promise<void> {
  const socket = createConnection(path);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EACCES' || err.code === 'EPERM')
        reject(new PrivilegeError(`reading ${path} needs root (the daemon's events name every process)`));
      else
        reject(
          new UnreachableError(
            `no running daemon at ${path} (${err.code ?? err.message}): start 'bpfgate run', or read from NATS with --nats URL`,
            err,
          ),
        );
    });
  });
  process.stderr.write(`bpfgate tail: watching the local daemon (${path}); Ctrl-C stops\n`);
  let stopped = false;
  const stop = () => {
    stopped = true;
    socket.destroy();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await new Promise<void>((resolve) => {
    createInterface({ input: socket }).on('line', show);
    socket.once('close', () => resolve());
  });
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  if (!stopped) process.stderr.write('bpfgate tail: the daemon closed its event socket (it stopped)\n');
}

export async function run(args: string[]): Promise<number> {
  const v: Record<string, unknown> = parseCommandArgs('tail', args, {
    ...natsFlagOptions(),
    ...flagSet(['socket', 'subject', 'policy', 'outcome'], ['json']),
  }).values;
  if (v.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const outcome = v.outcome as string | undefined;
  if (outcome !== undefined && !OUTCOMES.has(outcome))
    throw new UsageError(`--outcome: '${outcome}' is not one of ${[...OUTCOMES].join(', ')}`);
  const nats = parseNatsFlags(v, (line) => process.stderr.write(`bpfgate tail: ${line}\n`));
  const local = nats.servers.length === 0;
  if (local && v.subject !== undefined) throw new UsageError('--subject needs --nats');
  if (!local && v.socket !== undefined)
    throw new UsageError('--socket and --nats are alternatives: give one');
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const ids = new RecentIds();
  const show = (text: string) => {
    let ev: AnyEvent;
    try {
      ev = JSON.parse(text) as AnyEvent;
    } catch {
      return;
    }
    if (!matches(ev, v.policy as string | undefined, outcome) || !ids.first(eventId(ev))) return;
    process.stdout.write(`${v.json ? text : formatLine(ev, { color, host: !local })}\n`);
  };
  if (local) {
    const path =
      (v.socket as string | undefined) ?? process.env.BPFGATE_EVENTS_SOCKET ?? DEFAULT_EVENTS_SOCKET;
    await fromSocket(path, show);
    return EXIT.ok;
  }
  const subject = (v.subject as string | undefined) ?? `${DEFAULT_SUBJECT_PREFIX}.>`;
  let nc: Awaited<ReturnType<typeof openConnection>>;
  try {
    nc = await openConnection({
      servers: nats.servers,
      auth: nats.auth,
      name: 'bpfgate-tail',
      maxReconnectAttempts: -1,
    });
  } catch (err) {
    throw new UnreachableError(
      `cannot connect to ${nats.servers.join(', ')}: ${(err as Error).message}`,
      err,
    );
  }
  const sub = nc.subscribe(subject);
  process.stderr.write(`bpfgate tail: watching ${subject} on ${nc.getServer()}; Ctrl-C stops\n`);
  const stop = () => {
    void nc.drain();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const decoder = new TextDecoder();
  try {
    for await (const m of sub) show(decoder.decode(m.data));
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (!nc.isClosed()) await nc.close();
  }
  return EXIT.ok;
}
