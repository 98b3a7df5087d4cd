// Only a JetStream acknowledgement of a stored message frees an event: a reply
// a peer could send to the inbox (empty, +OK, an object without stream and
// sequence) is a failure, retried, never counted as published.
import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { ackProblem } from '../../../src/sinks/ack.ts';

const data = (s: string) => Buffer.from(s);

describe('JetStream acknowledgements', () => {
  it('accepts a reply naming the stream and a sequence (duplicates too)', () => {
    expect(ackProblem(undefined, data('{"stream":"BPFGATE","seq":42}'))).toBeUndefined();
    expect(ackProblem(undefined, data('{"stream":"BPFGATE","seq":42,"duplicate":true}'))).toBeUndefined();
  });

  it('refuses what a peer with inbox rights could send', () => {
    for (const fake of [
      '',
      '+OK',
      'ok',
      '{}',
      '{"ok":true}',
      '[]',
      '{"stream":"X"}',
      '{"seq":1}',
      '{"stream":"","seq":1}',
      '{"stream":"X","seq":0}',
      '{"stream":"X","seq":"1"}',
    ])
      expect(ackProblem(undefined, data(fake)), fake).toMatch(/acknowledgement/);
  });

  it('reads the plain form and every other form alike (the fast path and JSON.parse agree)', () => {
    for (const ok of [
      '{"stream":"S","seq":1,"domain":"hub"}',
      '{"stream":"S","seq":1,"domain":"hub","duplicate":true}',
      '{"stream":"S", "seq":7}',
      '{"seq":7,"stream":"S"}',
      '{"stream":"S\\"x","seq":7}',
      '{"stream":"S","seq":123456789012345}',
    ])
      expect(ackProblem(undefined, data(ok)), ok).toBeUndefined();
    for (const bad of [
      '{"stream":"S","seq":1,"error":{"code":503,"description":"x"}}',
      '{"stream":"S","seq":01}',
      '{"stream":"S","seq":1}{"x":1}',
      '{"stream":"S","seq":99999999999999999}',
    ])
      expect(ackProblem(undefined, data(bad)), bad).toBeDefined();
  });

  it('reports errors: a status header, a JetStream error', () => {
    const h = headers(503, 'No Responders');
    expect(ackProblem(h, data(''))).toBe('503 No Responders');
    expect(
      ackProblem(undefined, data('{"error":{"code":400,"description":"bad"},"stream":"X","seq":1}')),
    ).toBe('JetStream error 400 bad');
  });
});
