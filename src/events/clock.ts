// The offset from the kernel's boot clock (bpf_ktime_get_boot_ns) to the wall
// clock. Node has no CLOCK_BOOTTIME reader; /proc/uptime gives it to 10 ms,
// which is the precision of this measurement. The kernel binding may supply
// an exact offset (clock_gettime in the addon) instead.
import { readFile } from 'node:fs/promises';
import type { BootClock } from './build.ts';

/** Parse /proc/uptime's first field ("12345.67") into nanoseconds. */
export function parseUptimeNs(text: string): bigint {
  const m = /^(\d+)(?:\.(\d+))?/.exec(text.trim());
  if (!m) throw new Error(`unreadable uptime: ${text.slice(0, 40)}`);
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  return BigInt(m[1]!) * 1_000_000_000n + BigInt(frac);
}

export async function measureBootClock(uptimeFile = '/proc/uptime'): Promise<BootClock> {
  const before = Date.now();
  const text = await readFile(uptimeFile, 'utf8');
  const after = Date.now();
  const nowNs = BigInt(Math.round((before + after) / 2)) * 1_000_000n;
  return { offsetNs: nowNs - parseUptimeNs(text) };
}
