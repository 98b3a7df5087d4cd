import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultDaemonOptions } from '../../../src/config/daemon.ts';
import { generatedFiles } from '../../../src/config/generate.ts';
import { type Input, key } from '../../../src/config/registry.ts';
import { resolveConfig } from '../../../src/config/resolve.ts';
import { SECTIONS, SETTINGS } from '../../../src/config/settings.ts';
import { defaultFleetOptions } from '../../../src/fleet/options.ts';
import { defaultSinkOptions } from '../../../src/sinks/options.ts';

const root = new URL('../../../', import.meta.url);

describe('the configuration registry', () => {
  it.each(generatedFiles().map((f) => [f.path, f] as const))(
    '%s is what the registry generates (npm run generate)',
    (path, f) => {
      const current = readFileSync(new URL(path, root), 'utf8');
      expect(current).toBe(f.text(current));
    },
  );

  it('declares each setting, flag and environment variable once', () => {
    const keys = SETTINGS.map((s) => key(s.path));
    expect(new Set(keys).size).toBe(keys.length);
    const inputs: Input[] = SETTINGS.flatMap((s) => s.inputs ?? []);
    const flags = inputs.flatMap((i) => (i.flag ? [i.flag] : []));
    const envs = inputs.flatMap((i) => (i.env ? [i.env] : []));
    expect(new Set(flags).size).toBe(flags.length);
    expect(new Set(envs).size).toBe(envs.length);
    expect(envs.every((e) => e.startsWith('BPFGATE_'))).toBe(true);
    // every mapping that holds settings is a declared section
    for (const s of SETTINGS)
      for (let i = 1; i < s.path.length; i++)
        expect(SECTIONS.map((x) => key(x.path))).toContain(key(s.path.slice(0, i)));
  });

  it("its defaults are the components' own", () => {
    const trustedKeys = ['UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4'];
    const c = resolveConfig({
      nats: { servers: ['nats://h:4222'] },
      fleet: { servers: ['nats://h:4222'], trustedKeys },
    });
    expect(c.daemon).toEqual({
      ...defaultDaemonOptions(),
      nats: { ...defaultSinkOptions(), servers: ['nats://h:4222'] },
    });
    expect(c.fleet).toEqual({ ...defaultFleetOptions(), servers: ['nats://h:4222'], trustedKeys });
  });
});
