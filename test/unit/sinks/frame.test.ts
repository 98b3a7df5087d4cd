// The hand-written HPUB frame is the NATS protocol's: byte counts that cover
// the header block and the UTF-8 payload, and nothing a subject, reply or id
// could smuggle into the protocol line or the headers.
import { describe, expect, it } from 'vitest';
import { FrameError, hpubFrame } from '../../../src/sinks/frame.ts';

const MAX = 1024 * 1024;

describe('hpubFrame', () => {
  it('writes the protocol line, the Nats-Msg-Id header and the payload with exact byte counts', () => {
    const f = hpubFrame('bpfgate.v1.h.socket.blocked', '_INBOX.x.7', '01ABC', '{"m":"é"}', MAX);
    const header = 'NATS/1.0\r\nNats-Msg-Id: 01ABC\r\n\r\n';
    expect(f).toBe(
      `HPUB bpfgate.v1.h.socket.blocked _INBOX.x.7 ${header.length} ${header.length + 10}\r\n${header}{"m":"é"}\r\n`,
    );
    // the counts are bytes: é is two
    const line = f.slice(0, f.indexOf('\r\n')).split(' ');
    const body = Buffer.from(f.slice(f.indexOf('\r\n') + 2, -2), 'utf8');
    expect(Number(line[4])).toBe(body.length);
    expect(body.subarray(0, Number(line[3])).toString()).toBe(header);
  });

  it('refuses white space in subjects, line breaks in the id, and messages over max_payload', () => {
    expect(() => hpubFrame('a b', 'r', 'id', '{}', MAX)).toThrow(FrameError);
    expect(() => hpubFrame('a', 'r\r\nPUB x 1', 'id', '{}', MAX)).toThrow(FrameError);
    expect(() => hpubFrame('a', 'r', 'id\r\nX-Evil: 1', '{}', MAX)).toThrow(FrameError);
    expect(() => hpubFrame('a', 'r', '', '{}', MAX)).toThrow(FrameError);
    expect(() => hpubFrame('a', 'r', 'id', 'x'.repeat(100), 100)).toThrow(/max_payload/);
    expect(hpubFrame('a', 'r', 'id', 'x'.repeat(50), 100)).toContain('x'.repeat(50));
  });
});
