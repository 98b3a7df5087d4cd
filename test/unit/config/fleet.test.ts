import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunArgs } from '../../../src/cli/commands/run.ts';
import { parseConfigText } from '../../../src/config/file.ts';
import { ConfigError, configFromEnv, readConfigFile, resolveConfig } from '../../../src/config/resolve.ts';

const KEY = 'UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4';

describe('fleet configuration', () => {
  it('is off without a fleet section: policies come from files', () => {
    expect(resolveConfig({}).fleet).toBeNull();
  });

  it('completes the section with defaults; servers and auth default to the nats section', () => {
    const c = resolveConfig({
      nats: { servers: ['nats://10.0.0.1:4222'], auth: { token: 't' } },
      fleet: { labels: { role: 'web', env: 'prod' }, trustedKeys: [KEY] },
    });
    expect(c.fleet).toEqual({
      servers: ['nats://10.0.0.1:4222'],
      auth: { token: 't' },
      name: 'bpfgate-fleet',
      bucket: 'bpfgate-policies',
      labels: { role: 'web', env: 'prod' },
      cacheDir: '/var/lib/bpfgate/fleet-cache',
      connectTimeoutMs: 5000,
      reconnectWaitMs: 1000,
      trustedKeys: [KEY],
      publishStatus: true,
      statusBucket: 'bpfgate-hosts',
    });
    expect(Object.isFrozen(c.fleet)).toBe(true);
    const own = resolveConfig({
      nats: { servers: ['nats://10.0.0.1:4222'], auth: { token: 't' } },
      fleet: {
        servers: ['nats://10.0.0.2:4222'],
        auth: { user: 'u', password: 'p' },
        cacheDir: null,
        trustedKeys: [KEY],
      },
    });
    expect(own.fleet).toMatchObject({
      servers: ['nats://10.0.0.2:4222'],
      auth: { user: 'u' },
      cacheDir: null,
    });
  });

  it('refuses a fleet without servers, with policy files, or with bad labels', () => {
    const problems = (input: Parameters<typeof resolveConfig>[0]): string[] => {
      try {
        resolveConfig(input);
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
      }
      return [];
    };
    const trustedKeys = [KEY];
    expect(problems({ fleet: { labels: { role: 'web' }, trustedKeys } })).toEqual([
      expect.stringMatching(/^fleet: no servers/),
    ]);
    expect(
      problems({ policies: ['/etc/bpfgate/policies'], fleet: { servers: ['nats://h:4222'], trustedKeys } }),
    ).toEqual([expect.stringMatching(/^fleet: policies come from the bucket/)]);
    expect(
      problems({ fleet: { servers: ['nats://h:4222'], labels: { role: 'we b' }, trustedKeys } }),
    ).toEqual([expect.stringMatching(/^fleet.labels: label role/)]);
    expect(problems({ fleet: { servers: ['nats://h:4222'], auth: { user: 'u' }, trustedKeys } })).toEqual([
      expect.stringMatching(/auth.password: required/),
    ]);
    // fail closed: a fleet that trusts no signing key would refuse every entry
    expect(problems({ fleet: { servers: ['nats://h:4222'] } })).toEqual([
      expect.stringMatching(/^fleet.trustedKeys: no trusted signing key/),
    ]);
  });

  it('reads flags and environment variables', () => {
    const c = parseRunArgs(
      ['--fleet', 'nats://10.0.0.3:4222', '--fleet-label', 'role=web', '--fleet-label', 'env=prod'],
      {
        BPFGATE_FLEET_BUCKET: 'team-policies',
        BPFGATE_FLEET_CACHE: 'off',
        BPFGATE_FLEET_LABELS: 'zone=a,env=dev',
        BPFGATE_FLEET_TRUSTED_KEYS: KEY,
      },
      null,
    )!;
    expect(c.fleet).toMatchObject({
      servers: ['nats://10.0.0.3:4222'],
      bucket: 'team-policies',
      cacheDir: null,
      labels: { role: 'web', env: 'prod', zone: 'a' },
      trustedKeys: [KEY],
    });
    expect(configFromEnv({ BPFGATE_FLEET_URL: 'nats://a:4222,nats://b:4222' })).toEqual({
      fleet: { servers: ['nats://a:4222', 'nats://b:4222'] },
    });
    expect(() => configFromEnv({ BPFGATE_FLEET_LABELS: 'role' })).toThrow(ConfigError);
  });

  it('the configuration file section is checked against the schema, located', () => {
    const { input, diagnostics } = parseConfigText(
      'config.yaml',
      [
        'fleet:',
        '  servers: [nats://10.0.0.1:4222]',
        '  bukket: x',
        '  labels:',
        '    role: "we b"',
        '',
      ].join('\n'),
    );
    expect(input).toBeNull();
    expect(diagnostics.map((d) => [d.code, d.pos.line])).toEqual([
      ['UNKNOWN_KEY', 3],
      ['INVALID_VALUE', 5],
    ]);
    expect(diagnostics[0]?.message).toContain("did you mean 'bucket'");
  });

  it('paths in the file are relative to its folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfgate-fleet-config-'));
    try {
      const file = join(dir, 'config.yaml');
      writeFileSync(
        file,
        'fleet:\n  servers: [nats://h:4222]\n  cacheDir: cache\n  auth: { credsFile: host.creds, tls: { caFile: ca.pem } }\n',
      );
      expect(readConfigFile(file).fleet).toEqual({
        servers: ['nats://h:4222'],
        cacheDir: join(dir, 'cache'),
        auth: { credsFile: join(dir, 'host.creds'), tls: { caFile: join(dir, 'ca.pem') } },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
