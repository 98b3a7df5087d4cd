// bpfgate status [--url URL] [--json]: the running daemon's /status, readably.
// Exit 0 while it enforces and delivers, 1 when it answers but does not
// enforce or its events cannot be delivered, 4 when it cannot be reached.
import { readFile } from 'node:fs/promises';
import { flagSet, parseCommandArgs } from '../../args.ts';
import type { StatusDocument } from '../../daemon/metrics.ts';
import { EXIT } from '../exit.ts';

export const DEFAULT_STATUS_URL = 'http://127.0.0.1:9477';

const HELP = `usage: bpfgate status [--url URL] [--json]

  --url URL   the daemon's metrics endpoint (metrics.listen; default ${DEFAULT_STATUS_URL}) [BPFGATE_STATUS_URL]
              the bearer token, when the daemon requires one: [BPFGATE_METRICS_STATUS_TOKEN_FILE]
  --json      print /status as it came
  -h, --help  show this help

Exit status: 0 enforcing and delivering events, 1 the daemon answers but does
not enforce, does not read its events from the kernel, or its events cannot be
delivered to NATS, 2 usage error, 4 the
daemon cannot be reached.
`;

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd());
}

/** "12 s ago", "3 min ago", "2 h ago" */
function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** Delivery health: failing first and loud, with the last error and what waits. */
export function natsLines(n: NonNullable<StatusDocument['nats']>, now: number): string[] {
  const state = n.delivery === 'failing' ? 'DELIVERY FAILING' : n.connected ? 'delivering' : 'DISCONNECTED';
  const out = [
    `nats: ${state}, ${n.connected ? 'connected' : 'not connected'}; ${n.published} published, ${n.publishFailures} failed publish attempts`,
    `  waiting: ${n.queued} in memory, ${n.spoolPending} in the spool (${n.spoolBytes} bytes)${n.oldestUndelivered ? `, the oldest since ${ago(n.oldestUndelivered, now)}` : ''}; dropped: ${n.queueDropped} (queue full), ${n.spoolDropped} (spool full or absent)`,
  ];
  if (n.lastError)
    out.push(
      `  last error (${ago(n.lastError.at, now)}${n.delivery === 'ok' ? ', since recovered' : ''}): ${n.lastError.message}`,
    );
  return out;
}

/** /status as text. */
export function renderStatus(s: StatusDocument, now: number = Date.now()): string {
  const out: string[] = [];
  const rules = s.policies.flatMap((p) => p.rules.map((r) => ({ p, r })));
  const downgraded = rules.filter(({ r }) => r.downgraded).length;
  out.push(`bpfgate on ${s.host}: ${s.enforcing ? 'enforcing' : 'NOT ENFORCING'} (${s.mode} mode)`);
  if (s.readingStopped) out.push(`events: NOT READ from the kernel (retrying): ${s.readingStopped}`);
  if (s.kernel) {
    const rungs = s.kernel.rungs.map((r) => `${r.name} ${r.skipped ? '-' : r.available ? '✓' : '✗'}`);
    out.push(`kernel ${s.kernel.release}: ${rungs.join(', ')}`);
    for (const r of s.kernel.rungs) if (!r.available && r.fix) out.push(`  ${r.name}: ${r.fix}`);
  }
  out.push(
    `${s.policies.length} policies, ${rules.length} rules${downgraded > 0 ? `, ${downgraded} enforced more weakly than asked` : ''}`,
  );
  for (const u of s.unverifiedExecutables ?? [])
    out.push(`pinned executable NOT VERIFIED (its pinned exceptions do not apply): ${u.path}: ${u.reason}`);
  if (rules.length > 0) {
    out.push('');
    const rows = [['POLICY', 'RULE', 'KIND', 'ASKS', 'ACHIEVED']];
    for (const { p, r } of rules) {
      const how = r.mechanism ? `${r.achieved} via ${r.mechanism}` : r.achieved;
      const k = r.packets;
      const packets = k
        ? `; ${k.packets} packets, ${k.bytes} bytes, ${k.events} events (${k.suppressed} not reported)`
        : '';
      rows.push([
        p.name,
        r.rule,
        r.kind,
        r.action,
        `${how}${r.dryRun ? ' (dry run)' : ''}${r.downgraded ? ' — DOWNGRADED' : ''}${packets}`,
      ]);
    }
    out.push(...table(rows));
  }
  out.push('');
  const c = s.counters;
  out.push(
    `events: ${c.records} records read, ${c.events} events, ${c.decodeErrors} decode errors, ${c.ringbufDrops} ring-buffer drops, ${c.losses} lost`,
  );
  out.push(`kernel: ${c.denied} denied, ${c.killed} killed`);
  out.push(`reloads: ${c.reloads} applied, ${c.reloadFailures} rejected`);
  if (s.nats) out.push(...natsLines(s.nats, now));
  else out.push('nats: not configured');
  const maps = Object.entries(s.maps);
  if (maps.length > 0) {
    out.push(
      `maps: ${maps.map(([m, v]) => `${m} ${v.entries}${v.capacity !== null ? `/${v.capacity}` : ''}`).join(', ')}`,
    );
  }
  return `${out.join('\n')}\n`;
}

export async function run(args: string[]): Promise<number> {
  const v = parseCommandArgs('status', args, flagSet(['url'], ['json'])).values as {
    url?: string;
    json?: boolean;
    help?: boolean;
  };
  if (v.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const base = (v.url ?? process.env.BPFGATE_STATUS_URL ?? DEFAULT_STATUS_URL).replace(/\/+$/, '');
  let status: StatusDocument;
  let text: string;
  try {
    // the daemon's metrics.statusTokenFile, when it has one (a file: never a token on the command line)
    const tokenFile = process.env.BPFGATE_METRICS_STATUS_TOKEN_FILE;
    const token = tokenFile ? (await readFile(tokenFile, 'utf8')).trim() : null;
    const res = await fetch(`${base}/status`, {
      signal: AbortSignal.timeout(5000),
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = await res.text();
    status = JSON.parse(text) as StatusDocument;
  } catch (err) {
    process.stderr.write(
      `bpfgate status: cannot read ${base}/status: ${(err as Error).message} (is the daemon running with metrics.listen set?)\n`,
    );
    return EXIT.runtime;
  }
  process.stdout.write(v.json ? text : renderStatus(status));
  return status.enforcing && !status.readingStopped && status.nats?.delivery !== 'failing'
    ? EXIT.ok
    : EXIT.failed;
}
