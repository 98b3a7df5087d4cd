import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunArgs } from '../../../src/cli/commands/run.ts';
import { parseConfigText } from '../../../src/config/file.ts';
import {
  ConfigError,
  configFromEnv,
  loadConfig,
  mergeConfig,
  resolveConfig,
} from '../../../src/config/resolve.ts';
import { UsageError } from '../../../src/errors.ts';

function tempConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bpfgate-config-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, text);
  return file;
}

const FULL = `# every section
policies: [policies/, /etc/bpfgate/extra.yaml]
mode: audit
requireEnforcement: true
cgroupAttach: /sys/fs/cgroup/unified/svc
host: web-1
output:
  stdout: false
  format: ocsf
  aggregateWindowMs: 2000
nats:
  servers: [nats://10.0.0.1:4222, nats://10.0.0.2:4222]
  mode: jetstream
  subjectPrefix: sec.bpfgate
  auth:
    credsFile: host.creds
    tls: { caFile: /etc/bpfgate/ca.pem }
  spool:
    dir: spool
    maxBytes: 1048576
    fsync: always
log: { level: debug, pretty: false }
metrics: { listen: 127.0.0.1:9477 }
pins: { root: /sys/fs/bpf/bpfgate-a, keepEnforcing: true, protect: true }
policyWatch: { enabled: false, debounceMs: 250 }
`;

describe('the configuration file', () => {
  it('reads every section into the frozen run configuration, paths anchored at the file', () => {
    const file = tempConfig(FULL);
    const dir = join(file, '..');
    const c = loadConfig({ configFile: file, flags: {}, env: {}, defaultFile: null });
    expect(c.file).toBe(file);
    expect(c.daemon.policyPaths).toEqual([join(dir, 'policies'), '/etc/bpfgate/extra.yaml']);
    expect(c.daemon.audit).toBe(true);
    expect(c.daemon.requireEnforcement).toBe(true);
    expect(c.daemon.cgroupAttach).toBe('/sys/fs/cgroup/unified/svc');
    expect(c.daemon.host).toBe('web-1');
    expect(c.daemon.stdout).toBe(false);
    expect(c.daemon.format).toBe('ocsf');
    expect(c.daemon.aggregateWindowMs).toBe(2000);
    expect(c.daemon.nats?.servers).toEqual(['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222']);
    expect(c.daemon.nats?.format).toBe('ocsf');
    expect(c.daemon.nats?.subjectPrefix).toBe('sec.bpfgate');
    expect(c.daemon.nats?.auth.credsFile).toBe(join(dir, 'host.creds'));
    expect(c.daemon.nats?.auth.tls?.caFile).toBe('/etc/bpfgate/ca.pem');
    expect(c.daemon.nats?.spoolDir).toBe(join(dir, 'spool'));
    expect(c.daemon.nats?.spoolMaxBytes).toBe(1048576);
    expect(c.daemon.nats?.fsync).toBe('always');
    expect(c.log).toEqual({ level: 'debug', pretty: false });
    expect(c.metrics.listen).toBe('127.0.0.1:9477');
    expect(c.policyWatch).toEqual({ enabled: false, debounceMs: 250 });
    expect(c.daemon.pinRoot).toBe('/sys/fs/bpf/bpfgate-a');
    expect(c.daemon.keepEnforcing).toBe(true);
    expect(c.daemon.protect).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.daemon)).toBe(true);
    expect(Object.isFrozen(c.daemon.policyPaths)).toBe(true);
    expect(() => {
      (c.daemon as { audit: boolean }).audit = false;
    }).toThrow(TypeError);
  });

  it('defaults: enforce, stdout, no NATS, no metrics, watching policies/', () => {
    const c = resolveConfig({});
    expect(c.daemon.policyPaths).toEqual(['policies/']);
    expect(c.daemon.audit).toBe(false);
    expect(c.daemon.stdout).toBe(true);
    expect(c.daemon.nats).toBeNull();
    expect(c.metrics.listen).toBeNull();
    expect(c.policyWatch).toEqual({ enabled: true, debounceMs: 500 });
    expect(c.log.level).toBe('info');
    expect(c.daemon.protect).toBe(false);
  });

  it('self-protection from --protect or BPFGATE_PROTECT, off by default', () => {
    expect(resolveConfig(mergeConfig({}, configFromEnv({ BPFGATE_PROTECT: 'yes' }))).daemon.protect).toBe(
      true,
    );
    expect(parseRunArgs(['--protect'], {}, null)!.daemon.protect).toBe(true);
    expect(parseRunArgs([], { BPFGATE_PROTECT: '1' }, null)!.daemon.protect).toBe(true);
    expect(parseRunArgs([], {}, null)!.daemon.protect).toBe(false);
  });

  it('an empty file is an empty configuration', () => {
    expect(parseConfigText('c.yaml', '# nothing yet\n')).toEqual({ input: {}, diagnostics: [] });
  });

  it('locates unknown keys, wrong types and bad values as file:line:column', () => {
    const text = `policies: [p/]
mode: enforcing
output:
  stdot: true
  aggregateWindowMs: -1
nats:
  servers: [http://x]
metrics:
  listen: 9477
`;
    const r = parseConfigText('/etc/bpfgate/config.yaml', text);
    expect(r.input).toBeNull();
    const got = r.diagnostics.map((d) => [d.code, d.pos.line, d.pos.column]);
    expect(got).toEqual([
      ['INVALID_VALUE', 2, 7],
      ['UNKNOWN_KEY', 4, 3],
      ['INVALID_VALUE', 5, 22],
      ['INVALID_VALUE', 7, 13],
      ['INVALID_TYPE', 9, 11],
    ]);
    expect(r.diagnostics[1]!.message).toContain("did you mean 'stdout'?");
    expect(r.diagnostics.every((d) => d.pos.file === '/etc/bpfgate/config.yaml')).toBe(true);
  });

  it('a YAML syntax error and a second document are located errors', () => {
    expect(parseConfigText('c.yaml', 'mode: [audit\n').diagnostics[0]?.code).toBe('YAML_SYNTAX');
    const two = parseConfigText('c.yaml', 'mode: audit\n---\nmode: enforce\n');
    expect(two.diagnostics.map((d) => [d.code, d.pos.line])).toEqual([['MULTIPLE_DOCUMENTS', 3]]);
  });

  it('an invalid file throws ConfigError carrying the diagnostics', () => {
    const file = tempConfig('polices: [p/]\n');
    try {
      loadConfig({ configFile: file, flags: {}, env: {}, defaultFile: null });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe('INVALID_CONFIG');
      expect((err as ConfigError).diagnostics.map((d) => [d.code, d.pos.line, d.pos.column])).toEqual([
        ['UNKNOWN_KEY', 1, 1],
      ]);
      expect((err as ConfigError).message).toContain(`${file}:1:1:`);
    }
  });

  it('a named file that does not exist is an error; the default file only when it exists', () => {
    expect(() =>
      loadConfig({ configFile: '/nonexistent/c.yaml', flags: {}, env: {}, defaultFile: null }),
    ).toThrow(ConfigError);
    const c = loadConfig({ configFile: null, flags: {}, env: {}, defaultFile: '/nonexistent/c.yaml' });
    expect(c.file).toBeNull();
  });

  it('NATS options are checked by the sink (spool segment larger than the spool)', () => {
    expect(() =>
      resolveConfig({
        nats: { servers: ['nats://127.0.0.1:4222'], spool: { maxBytes: 8192, segmentBytes: 16384 } },
      }),
    ).toThrow(ConfigError);
    expect(() => resolveConfig({ nats: { mode: 'core' } })).toThrow(ConfigError);
  });
});

describe('docs/operations.md', () => {
  it('its example configuration is valid against the schema', () => {
    const doc = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
    const example = /```yaml\n(# \/etc\/bpfgate\/config\.yaml\n[\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const r = parseConfigText('operations.md', example!);
    expect(r.diagnostics).toEqual([]);
    expect(() => resolveConfig(r.input!)).not.toThrow();
  });
});

describe('environment and flags', () => {
  it('BPFGATE_* variables become a layer of the same shape', () => {
    expect(
      configFromEnv({
        BPFGATE_POLICIES: '/a, /b',
        BPFGATE_AUDIT: 'true',
        BPFGATE_NATS_URL: 'nats://127.0.0.1:4222',
        BPFGATE_NATS_TOKEN: 's3cret',
        BPFGATE_LOG_LEVEL: 'warn',
        BPFGATE_AGGREGATE_MS: '500',
        BPFGATE_METRICS_LISTEN: 'off',
        BPFGATE_POLICY_WATCH: '0',
        BPFGATE_PIN_ROOT: 'off',
        HOME: '/root',
      }),
    ).toEqual({
      policies: ['/a', '/b'],
      mode: 'audit',
      nats: { servers: ['nats://127.0.0.1:4222'], auth: { token: 's3cret' } },
      log: { level: 'warn' },
      output: { aggregateWindowMs: 500 },
      metrics: { listen: null },
      policyWatch: { enabled: false },
      pins: { root: null },
    });
  });

  it('a bad variable is named in the error', () => {
    try {
      configFromEnv({ BPFGATE_AUDIT: 'maybe', BPFGATE_LOG_LEVEL: 'loud', BPFGATE_AGGREGATE_MS: '1s' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const p = (err as ConfigError).problems;
      expect(p).toHaveLength(3);
      expect(p.find((x) => x.startsWith('BPFGATE_AUDIT:'))).toBeDefined();
      expect(p.find((x) => x.startsWith('BPFGATE_LOG_LEVEL:'))).toContain('fatal, error');
      expect(p.find((x) => x.startsWith('BPFGATE_AGGREGATE_MS:'))).toBeDefined();
    }
  });

  it('precedence: flags > environment > file > defaults', () => {
    const file = tempConfig(
      'mode: audit\nhost: from-file\nlog: { level: debug }\noutput: { format: ocsf }\n',
    );
    const env = { BPFGATE_HOST: 'from-env', BPFGATE_LOG_LEVEL: 'warn' };
    const c = parseRunArgs(['--config', file, '--log-level', 'error', '--mode', 'enforce'], env, null)!;
    expect(c.daemon.audit).toBe(false); // flag over file
    expect(c.daemon.host).toBe('from-env'); // env over file
    expect(c.log.level).toBe('error'); // flag over env over file
    expect(c.daemon.format).toBe('ocsf'); // file over default
    expect(c.daemon.stdout).toBe(true); // default
  });

  it('BPFGATE_CONFIG names the file when --config does not', () => {
    const file = tempConfig('host: named-by-env\n');
    expect(parseRunArgs([], { BPFGATE_CONFIG: file }, null)!.daemon.host).toBe('named-by-env');
  });

  it('flags: repeatable lists, negations, the NATS section and its checks', () => {
    const c = parseRunArgs(
      [
        '--policies',
        '/a',
        '--policies',
        '/b',
        '--no-stdout',
        '--nats',
        'nats://127.0.0.1:1',
        '--nats-mode',
        'core',
        '--audit',
        '--no-policy-watch',
      ],
      {},
      null,
    )!;
    expect(c.daemon.policyPaths).toEqual(['/a', '/b']);
    expect(c.daemon.stdout).toBe(false);
    expect(c.daemon.nats?.mode).toBe('core');
    expect(c.daemon.audit).toBe(true);
    expect(c.policyWatch.enabled).toBe(false);
    expect(() => parseRunArgs(['--format', 'xml'], {}, null)).toThrow(UsageError);
    expect(() => parseRunArgs(['--aggregate', 'soon'], {}, null)).toThrow(UsageError);
    expect(() => parseRunArgs(['--bogus'], {}, null)).toThrow(UsageError);
  });

  it('merging replaces lists and merges mappings', () => {
    expect(
      mergeConfig(
        { policies: ['/a'], output: { stdout: false } },
        { policies: ['/b'], output: { format: 'ocsf' } },
      ),
    ).toEqual({
      policies: ['/b'],
      output: { stdout: false, format: 'ocsf' },
    });
  });
});
