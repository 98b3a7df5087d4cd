import { describe, expect, it } from 'vitest';
import { connectionOptions } from '../../../src/nats/options.ts';
import { DEFAULT_QUEUE_MAX, parseSinkOptions, SinkOptionsError } from '../../../src/sinks/options.ts';

describe('parseSinkOptions', () => {
  it('fills defaults and freezes', () => {
    const o = parseSinkOptions({ servers: ['nats://127.0.0.1:4222'] });
    expect(o.mode).toBe('jetstream');
    expect(o.format).toBe('native');
    expect(o.queueMax).toBe(DEFAULT_QUEUE_MAX);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('fails once, naming every offending key', () => {
    let err: unknown;
    try {
      parseSinkOptions({
        servers: ['http://x'],
        mode: 'kafka',
        queueMax: 0,
        colour: 'red',
        auth: { user: 'u', token: 't', tls: { certFile: 'c' } },
      } as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SinkOptionsError);
    const e = err as SinkOptionsError;
    expect(e.code).toBe('INVALID_SINK_OPTIONS');
    expect(e.keys).toEqual(
      expect.arrayContaining(['servers', 'mode', 'queueMax', 'colour', 'auth', 'auth.password', 'auth.tls']),
    );
  });

  it('translates auth to connection options', () => {
    expect(connectionOptions(['nats://h:1'], { token: 't' }, 'n')).toMatchObject({
      token: 't',
      servers: ['nats://h:1'],
    });
    expect(connectionOptions(['nats://h:1'], { user: 'u', password: 'p' }, 'n')).toMatchObject({
      user: 'u',
      pass: 'p',
    });
    expect(connectionOptions(['tls://h:1'], { tls: { caFile: '/ca' } }, 'n').tls).toEqual({ caFile: '/ca' });
  });
});
