// bpfgate status [--url URL] [--json]: the running daemon's /status, readably.
// Exit 0 while it enforces, 1 when it answers but does not enforce, 4 when it
// cannot be reached.
import { parseArgs } from 'node:util';
import type { StatusDocument } from '../../daemon/metrics.ts';
import { UsageError } from '../../errors.ts';
import { EXIT } from '../exit.ts';

export const DEFAULT_STATUS_URL = 'http://127.0.0.1:9477';

const HELP = `usage: bpfgate status [--url URL] [--json]

  --url URL   the daemon's metrics endpoint (metrics.listen; default ${DEFAULT_STATUS_URL}) [BPFGATE_STATUS_URL]
  --json      print /status as it came
`;

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd());
}

/** /status as text. */
export function renderStatus(s: StatusDocument): string {
  const out: string[] = [];
  const rules = s.policies.flatMap((p) => p.rules.map((r) => ({ p, r })));
  const downgraded = rules.filter(({ r }) => r.downgraded).length;
  out.push(`bpfgate on ${s.host}: ${s.enforcing ? 'enforcing' : 'NOT ENFORCING'} (${s.mode} mode)`);
  out.push(
    `${s.policies.length} policies, ${rules.length} rules${downgraded > 0 ? `, ${downgraded} enforced more weakly than asked` : ''}`,
  );
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
  if (s.nats) {
    const n = s.nats;
    out.push(
      `nats: ${n.connected ? 'connected' : 'DISCONNECTED'}, ${n.published} published, ${n.queued} queued, ${n.queueDropped} dropped from the queue; spool ${n.spoolPending} pending (${n.spoolBytes} bytes), ${n.spoolDropped} dropped`,
    );
  } else out.push('nats: not configured');
  const maps = Object.entries(s.maps);
  if (maps.length > 0) {
    out.push(
      `maps: ${maps.map(([m, v]) => `${m} ${v.entries}${v.capacity !== null ? `/${v.capacity}` : ''}`).join(', ')}`,
    );
  }
  return `${out.join('\n')}\n`;
}

export async function run(args: string[]): Promise<number> {
  let v: { url?: string; json?: boolean; help?: boolean };
  try {
    ({ values: v } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { url: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${HELP}`);
  }
  if (v.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const base = (v.url ?? process.env.BPFGATE_STATUS_URL ?? DEFAULT_STATUS_URL).replace(/\/+$/, '');
  let status: StatusDocument;
  let text: string;
  try {
    const res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(5000) });
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
  return status.enforcing ? EXIT.ok : EXIT.failed;
}
