import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseRunArgs } from '../../../src/cli/commands/run.ts';
import { UsageError } from '../../../src/errors.ts';
import { AUTH_FIELDS, checkAuth, mapAuthFiles } from '../../../src/nats/auth.ts';
import { natsFlagOptions, parseNatsFlags } from '../../../src/nats/flags.ts';

function parse(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { flags: ReturnType<typeof parseNatsFlags>; warnings: string[] } {
  const { values } = parseArgs({ args, options: natsFlagOptions(), strict: true, allowPositionals: false });
  const warnings: string[] = [];
  return { flags: parseNatsFlags(values, (l) => warnings.push(l), env), warnings };
}

describe('the NATS flags of tail and report', () => {
  it('one spelling: --nats (repeatable) and --nats-* auth flags, no warning', () => {
    const { flags, warnings } = parse([
      '--nats',
      'nats://a:4222',
      '--nats',
      'b:4222',
      '--nats-creds',
      'ops.creds',
      '--nats-tls-ca',
      'ca.pem',
    ]);
    expect(flags).toEqual({
      servers: ['nats://a:4222', 'b:4222'],
      auth: { credsFile: 'ops.creds', tls: { caFile: 'ca.pem' } },
    });
    expect(warnings).toEqual([]);
  });

  it('the old spellings still work, each with a deprecation warning', () => {
    const { flags, warnings } = parse(['--creds', 'ops.creds', '--tls-cert', 'c.pem', '--tls-key', 'k.pem']);
    expect(flags.auth).toEqual({ credsFile: 'ops.creds', tls: { certFile: 'c.pem', keyFile: 'k.pem' } });
    expect(warnings).toEqual([
      '--creds is deprecated; use --nats-creds',
      '--tls-cert is deprecated; use --nats-tls-cert',
      '--tls-key is deprecated; use --nats-tls-key',
    ]);
    expect(parse(['--user', 'u'], { BPFGATE_NATS_PASSWORD: 'p' }).flags.auth).toEqual({
      user: 'u',
      password: 'p',
    });
  });

  it('refuses a password or token on the command line (readable by every user), without repeating it', () => {
    for (const args of [
      ['--nats-user', 'u', '--nats-password', 'hunter2-secret'],
      ['--user', 'u', '--password', 'hunter2-secret'],
      ['--nats-token', 'hunter2-secret'],
      ['--token', 'hunter2-secret'],
    ]) {
      let err: unknown;
      try {
        parse(args);
      } catch (e) {
        err = e;
      }
      expect(err, args.join(' ')).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(
        /secret on the command line is readable by every user.*BPFGATE_NATS_/,
      );
      expect((err as Error).message).not.toContain('hunter2-secret');
    }
    expect(parse([], { BPFGATE_NATS_TOKEN: 't' }).flags.auth).toEqual({ token: 't' });
  });

  it('bpfgate run refuses them too, and reads them from the environment', () => {
    const args = ['--nats', 'nats://h:4222', '--nats-user', 'u', '--nats-password', 'hunter2-secret'];
    expect(() => parseRunArgs(args, {}, null)).toThrow(/--nats-password: a secret on the command line/);
    try {
      parseRunArgs(args, {}, null);
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2-secret');
    }
    const c = parseRunArgs(args.slice(0, 4), { BPFGATE_NATS_PASSWORD: 'p' }, null);
    expect(c?.daemon.nats?.auth).toEqual({ user: 'u', password: 'p' });
  });

  it('names every problem at once, in the flags the user typed', () => {
    let err: unknown;
    try {
      parse(['--nats', 'http://x', '--nats-user', 'u', '--nats-tls-cert', 'c'], { BPFGATE_NATS_TOKEN: 't' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const lines = (err as UsageError).message.split('\n');
    expect(lines).toEqual([
      '--nats: not a server URL: http://x',
      'choose one of BPFGATE_NATS_TOKEN, --nats-user with BPFGATE_NATS_PASSWORD, --nats-nkey, --nats-creds',
      'BPFGATE_NATS_PASSWORD: required with --nats-user',
      '--nats-tls-cert/--nats-tls-key: certFile and keyFile go together',
    ]);
    expect(() => parse([], { BPFGATE_NATS_PASSWORD: 'p' })).toThrow(
      /--nats-user: required with BPFGATE_NATS_PASSWORD/,
    );
    expect(() => parse(['--creds', 'a', '--nats-creds', 'b'])).toThrow(/the same option/);
    expect(() => parse(['--nats-user', ''], { BPFGATE_NATS_PASSWORD: 'p' })).toThrow(
      /--nats-user: must not be empty/,
    );
  });
});

describe('NATS auth', () => {
  it('every field has a distinct flag, alias and environment variable', () => {
    for (const key of ['flag', 'alias', 'env'] as const)
      expect(new Set(AUTH_FIELDS.map((f) => f[key])).size).toBe(AUTH_FIELDS.length);
    expect(AUTH_FIELDS.filter((f) => f.secret).map((f) => f.flag)).toEqual(['nats-token', 'nats-password']);
  });

  it('anchors file paths only', () => {
    expect(
      mapAuthFiles({ user: 'u', password: 'p', tls: { caFile: 'ca.pem' } }, (p) => `/etc/bpfgate/${p}`),
    ).toEqual({ user: 'u', password: 'p', tls: { caFile: '/etc/bpfgate/ca.pem' } });
    expect(mapAuthFiles({ credsFile: 'h.creds' }, (p) => `/x/${p}`)).toEqual({ credsFile: '/x/h.creds' });
  });

  it('checks unknown keys, one method, and options that go together', () => {
    expect(checkAuth({ nkeySeedFile: 'seed' })).toEqual([]);
    expect(checkAuth({ bogus: 1, tls: { pem: 'x' } } as never).map((p) => p.key)).toEqual([
      'auth.bogus',
      'auth.tls.pem',
    ]);
  });
});
