import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  EV_F_EXE_UNKNOWN,
  EVENT_LAYOUT,
  EVENT_SIZE,
  EXE_MAX,
  KIND_MAX,
  RULE_DEFAULT,
} from '../../src/abi/layout.ts';
import { decodeRecord, RecordDecodeError } from '../../src/kernel/decoder.ts';
import { kindOf } from '../../src/kinds/index.ts';
import { recordBytes } from '../support/events.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'records');

/** Parse a .rec fixture (format in test/fixtures/records/README.md). */
function loadRecord(name: string): Uint8Array {
  const out: number[] = [];
  const text = readFileSync(path.join(FIXTURES, name), 'utf8');
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const to = /^to (\d+)$/.exec(line);
    if (to) {
      const n = Number(to[1]);
      if (n < out.length) throw new Error(`${name}: "to ${n}" but already ${out.length} bytes`);
      while (out.length < n) out.push(0);
      continue;
    }
    const str = /^"(.*)"$/.exec(line);
    if (str) {
      out.push(...Buffer.from(str[1]!, 'utf8'));
      continue;
    }
    for (const tok of line.split(/\s+/)) {
      if (!/^[0-9a-f]{2}$/i.test(tok)) throw new Error(`${name}: bad token ${tok}`);
      out.push(Number.parseInt(tok, 16));
    }
  }
  return Uint8Array.from(out);
}

describe('decodeRecord', () => {
  it('decodes an exec denied by BPF-LSM (fixture)', () => {
    const buf = loadRecord('exec-denied-lsm.rec');
    expect(buf.length).toBe(EVENT_SIZE);
    const r = decodeRecord(buf);
    expect(r).toEqual({
      bootNs: 1_000_000_123n,
      cgroupId: 0x1234n,
      ruleId: 7,
      pid: 4242,
      tgid: 4242,
      ppid: 1,
      uid: 1000,
      gid: 1000,
      euid: 0,
      ret: -1,
      kind: 'exec',
      action: 'block',
      mechanism: 'lsm',
      op: 0,
      outcome: 'denied',
      slot: 2,
      flags: 0,
      exeId: 5,
      gen: 0,
      repeats: 42n,
      target: 0xdeadbeefn,
      args: [0n, 0n, 0n, 0n],
      comm: 'bash',
      path: '/usr/bin/nc',
      aux: new Uint8Array(128),
    });
  });

  it('decodes a would-block connect with its address in aux (fixture)', () => {
    const r = decodeRecord(loadRecord('connect-would-block.rec'));
    expect(r.kind).toBe('connect');
    expect(r.mechanism).toBe('cgroup');
    expect(r.outcome).toBe('would-block');
    expect(r.gen).toBe(1);
    expect(r.ruleId).toBe((RULE_DEFAULT | 3) >>> 0);
    expect(r.cgroupId).toBe(0x7fffffffffffffffn);
    expect(r.pid).toBe(10000);
    expect(r.tgid).toBe(9999);
    expect(r.ppid).toBe(9998);
    expect(r.ret).toBe(0);
    expect(r.flags & EV_F_EXE_UNKNOWN).toBe(EV_F_EXE_UNKNOWN);
    expect(r.args).toEqual([4n, 443n, 6n, 0n]);
    expect(r.path).toBe('');
    expect(Array.from(r.aux.subarray(0, 4))).toEqual([10, 1, 2, 3]);
  });

  it('reads full 64-bit values and a path that fills its field without a NUL', () => {
    const buf = recordBytes((dv, bytes) => {
      dv.setBigUint64(EVENT_LAYOUT.ts_ns.offset, 0xffffffffffffffffn, true);
      dv.setBigUint64(EVENT_LAYOUT.arg.offset + 24, 0x8000000000000001n, true);
      dv.setInt32(EVENT_LAYOUT.ret.offset, -13, true);
      bytes.fill(0x61, EVENT_LAYOUT.path.offset, EVENT_LAYOUT.path.offset + EXE_MAX);
      bytes.set(Buffer.from('0123456789abcdef'), EVENT_LAYOUT.comm.offset);
    });
    const r = decodeRecord(buf);
    expect(r.bootNs).toBe(0xffffffffffffffffn);
    expect(r.args[3]).toBe(0x8000000000000001n);
    expect(r.ret).toBe(-13);
    expect(r.path).toBe('a'.repeat(EXE_MAX));
    expect(r.comm).toBe('0123456789abcdef');
  });

  it('decodes from a view into a larger buffer, and copies aux', () => {
    const rec = loadRecord('exec-denied-lsm.rec');
    const big = new Uint8Array(EVENT_SIZE + 24);
    big.set(rec, 8);
    const view = big.subarray(8, 8 + EVENT_SIZE);
    const r = decodeRecord(view);
    expect(r.path).toBe('/usr/bin/nc');
    big.fill(0xee);
    expect(r.aux.every((b) => b === 0)).toBe(true);
  });

  it('accepts a record longer than EVENT_SIZE (ring-buffer padding)', () => {
    const rec = loadRecord('exec-denied-lsm.rec');
    const padded = new Uint8Array(EVENT_SIZE + 8);
    padded.set(rec);
    expect(decodeRecord(padded).ruleId).toBe(7);
  });

  it('throws RecordDecodeError on a short record', () => {
    const rec = loadRecord('exec-denied-lsm.rec').subarray(0, EVENT_SIZE - 1);
    const err = (() => {
      try {
        decodeRecord(rec);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(RecordDecodeError);
    expect((err as RecordDecodeError).code).toBe('RECORD_DECODE');
    expect((err as RecordDecodeError).reason).toBe('short');
    expect((err as RecordDecodeError).length).toBe(EVENT_SIZE - 1);
    expect(() => decodeRecord(new Uint8Array(0))).toThrow(RecordDecodeError);
  });

  it.each([
    ['kind', 0],
    // the first byte past every kind the registry can hold (BG_KIND_MAX)
    ['kind', KIND_MAX],
    ['action', 9],
    ['mechanism', 0],
    ['outcome', 8],
    ['gen', 2],
  ] as const)('throws RecordDecodeError on an unknown %s byte (%d)', (field, value) => {
    const buf = loadRecord('exec-denied-lsm.rec');
    buf[EVENT_LAYOUT[field].offset] = value;
    try {
      decodeRecord(buf);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RecordDecodeError);
      expect((e as RecordDecodeError).reason).toBe(field);
      expect((e as RecordDecodeError).value).toBe(value);
    }
  });

  it('EVENT_LAYOUT members are contiguous up to EVENT_SIZE', () => {
    let end = 0;
    for (const { offset, size } of Object.values(EVENT_LAYOUT)) {
      expect(offset).toBe(end);
      end = offset + size;
    }
    expect(end).toBe(EVENT_SIZE);
  });
});

describe('the network target', () => {
  it('names the call the kernel decided (record arg3), and leaves it out when the record has none', () => {
    const aux = new Uint8Array(128);
    aux.set([169, 254, 169, 254]);
    const fields = (call: bigint) => ({ op: 0, args: [4n, 53n, 17n, call] as const, path: '', aux });
    expect(kindOf('connect').decode(fields(2n), { ruleId: 0 })).toEqual({
      family: 'ipv4',
      address: '169.254.169.254',
      port: 53,
      protocol: 'udp',
      call: 'sendmsg',
    });
    expect(kindOf('connect').decode(fields(0n), { ruleId: 0 })).not.toHaveProperty('call');
    const listen = kindOf('bind').decode(
      { ...fields(4n), args: [6n, 0n, 6n, 4n], aux: new Uint8Array(128) },
      {
        ruleId: 0,
      },
    );
    expect(listen).toEqual({ family: 'ipv6', address: '::', port: 0, protocol: 'tcp', call: 'listen' });
    expect(kindOf('bind').describe(listen)).toBe('[::]:0/tcp (listen without bind)');
  });
});
