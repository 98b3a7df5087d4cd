// CIDRs and port ranges as written in connect and bind rules. Pure parsing:
// a result or a human reason, never a throw.
import { isIPv4, isIPv6 } from 'node:net';
import type { Cidr, PortRange } from './model.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

function v4Bytes(s: string): number[] {
  return s.split('.').map(Number);
}

function v6Bytes(text: string): number[] | null {
  let s = text;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const b = v4Bytes(tail);
    const hex = (x: number, y: number) => ((x << 8) | y).toString(16);
    s = `${s.slice(0, lastColon + 1)}${hex(b[0]!, b[1]!)}:${hex(b[2]!, b[3]!)}`;
  }
  const halves = s.split('::');
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const zeros = halves.length > 1 ? 8 - left.length - right.length : 0;
  const groups = [...left, ...Array<string>(zeros).fill('0'), ...right];
  if (groups.length !== 8) return null;
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** "10.0.0.0/8", "fd00:ec2::254/128". The prefix length is required and host bits must be zero. */
export function parseCidr(text: string): Parsed<Cidr> {
  const slash = text.indexOf('/');
  if (slash < 0) {
    return { ok: false, reason: `'${text}' has no prefix length (write ${text}/${isIPv4(text) ? 32 : 128})` };
  }
  const addr = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  const family = isIPv4(addr) ? 4 : isIPv6(addr) && !addr.includes('%') ? 6 : 0;
  if (family === 0) return { ok: false, reason: `'${addr}' is not an IPv4 or IPv6 address` };
  const max = family === 4 ? 32 : 128;
  if (!/^[0-9]{1,3}$/.test(bitsText) || Number(bitsText) > max) {
    return { ok: false, reason: `'/${bitsText}' is not a prefix length from 0 to ${max}` };
  }
  const bits = Number(bitsText);
  const bytes = family === 4 ? v4Bytes(addr) : v6Bytes(addr);
  if (bytes === null) return { ok: false, reason: `'${addr}' is not an IPv6 address` };
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    if ((bytes[i]! & ~mask) !== 0) {
      return { ok: false, reason: `'${text}' has host bits set beyond /${bits}` };
    }
  }
  return { ok: true, value: { family, address: Uint8Array.from(bytes), bits, text } };
}

/** 443 or "1000-2000" (inclusive). Port 0 is not a port. */
export function parsePort(value: number | string): Parsed<PortRange> {
  const text = String(value);
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(text);
  if (!m) return { ok: false, reason: `'${text}' is not a port or a "low-high" range` };
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < 1 || to > 65535 || from > 65535) {
    return { ok: false, reason: `'${text}' is outside 1-65535` };
  }
  if (from > to) return { ok: false, reason: `'${text}' is an empty range: ${from} > ${to}` };
  return { ok: true, value: { from, to } };
}
