// Credentials never leak through server URLs or cross a plaintext connection
// unannounced: user:password@ in a URL is refused without being repeated, and
// credentials over nats:// are a warning, an error with --require-tls.
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseRunArgs } from '../../../src/cli/commands/run.ts';
import { parseConfigText } from '../../../src/config/file.ts';
import { natsFlagOptions, parseNatsFlags } from '../../../src/nats/flags.ts';
import { plaintextCredentials, redactUrl } from '../../../src/nats/options.ts';

const SECRET = 'hunter2-secret';
const message = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};

describe('credentials in server URLs', () => {
  it('are refused from flags, the environment and the file, and never repeated', () => {
    const url = `nats://bpfgate:${SECRET}@nats-1:4222`;
    for (const m of [
      message(() => parseRunArgs(['--nats', url], {}, null)),
      message(() => parseRunArgs([], { BPFGATE_NATS_URL: url }, null)),
      message(() => parseRunArgs(['--fleet', `tls://${SECRET}@h:4222`], {}, null)),
    ]) {
      expect(m).toMatch(/\*\*\*@.*credentials in a server URL are refused/);
      expect(m).not.toContain(SECRET);
    }
    const file = parseConfigText('c.yaml', `nats:\n  servers: ["${url}"]\n`);
    expect(file.diagnostics.map((d) => d.message).join()).toMatch(/nats:\/\/\*\*\*@nats-1:4222: credentials/);
    expect(file.diagnostics.map((d) => d.message).join()).not.toContain(SECRET);
    const { values } = parseArgs({ args: ['--nats', url], options: natsFlagOptions(), strict: true });
    const m = message(() => parseNatsFlags(values, () => {}, {}));
    expect(m).toMatch(/credentials in a server URL are refused/);
    expect(m).not.toContain(SECRET);
  });

  it('redactUrl hides what precedes @', () => {
    expect(redactUrl(`nats://u:${SECRET}@h:4222`)).toBe('nats://***@h:4222');
    expect(redactUrl(`${SECRET}@h:4222`)).toBe('***@h:4222');
    expect(redactUrl('tls://h:4222')).toBe('tls://h:4222');
  });
});

describe('credentials over plaintext', () => {
  it('is named for nats:// and host:port, not for tls:// or TLS files', () => {
    expect(plaintextCredentials(['nats://h:4222'], { token: 't' })).toMatch(/plaintext nats:\/\/h:4222/);
    expect(plaintextCredentials(['h:4222', 'tls://g:4222'], { credsFile: 'x' })).toMatch(/plaintext h:4222:/);
    expect(plaintextCredentials(['tls://h:4222'], { token: 't' })).toBeNull();
    expect(plaintextCredentials(['nats://h:4222'], { token: 't', tls: { caFile: 'ca' } })).toBeNull();
    expect(plaintextCredentials(['nats://h:4222'], {})).toBeNull();
  });

  it('bpfgate run refuses it with --require-tls; tail and report warn', () => {
    const env = { BPFGATE_NATS_TOKEN: SECRET };
    expect(() => parseRunArgs(['--nats', 'nats://h:4222'], env, null)).not.toThrow();
    const m = message(() => parseRunArgs(['--nats', 'nats://h:4222', '--require-tls'], env, null));
    expect(m).toMatch(/requireTls: NATS credentials over plaintext nats:\/\/h:4222/);
    expect(m).not.toContain(SECRET);
    expect(() => parseRunArgs(['--nats', 'tls://h:4222', '--require-tls'], env, null)).not.toThrow();
    const warnings: string[] = [];
    const { values } = parseArgs({
      args: ['--nats', 'nats://h:4222'],
      options: natsFlagOptions(),
      strict: true,
    });
    parseNatsFlags(values, (l) => warnings.push(l), env);
    expect(warnings).toEqual([expect.stringMatching(/credentials over plaintext nats:\/\/h:4222/)]);
  });
});
