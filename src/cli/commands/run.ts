// bpfgate run: the daemon in the foreground. Violations are printed as one
// JSON line each on stdout (and published to NATS when configured); logs go
// to stderr. SIGINT/SIGTERM detach everything and exit 0; SIGHUP (and a
// change in a policy folder) reloads. Configuration: flags > BPFGATE_*
// environment > the config file > defaults (docs/operations.md).
import { parseArgs } from 'node:util';
import type { FeatureSet } from '../../abi/features.ts';
import {
  ConfigError,
  type ConfigInput,
  DEFAULT_CONFIG_FILE,
  loadConfig,
  mergeConfig,
  type RunConfig,
} from '../../daemon/config.ts';
import { checkFragment } from '../../daemon/config-file.ts';
import { Service } from '../../daemon/service.ts';
import { flagValue, SETTINGS } from '../../daemon/settings.ts';
import { UsageError, ValidationError } from '../../errors.ts';
import { Enricher } from '../../events/enrich.ts';
import { createLogger } from '../../log.ts';

function usageText(): string {
  const rows = SETTINGS.filter((s) => s.flag !== null).map((s) => {
    const left = `--${s.flag}${s.arg ? ` ${s.arg}` : ''}`;
    return `  ${left.padEnd(30)} ${s.help}${s.env ? ` [${s.env}]` : ''}`;
  });
  return `usage: bpfgate run [--config FILE] [options]

  ${'--config FILE'.padEnd(30)} configuration file (default ${DEFAULT_CONFIG_FILE} if it exists) [BPFGATE_CONFIG]
${rows.join('\n')}

Precedence: flags > BPFGATE_* environment variables > the config file > defaults.
`;
}

export const RUN_USAGE = usageText();

/** The kernel probe, loaded only when the daemon starts. */
async function probe(): Promise<FeatureSet> {
  const mod = (await import('../../kernel/probe.ts')) as { probeFeatures: () => Promise<FeatureSet> };
  return mod.probeFeatures();
}

/** The command line as the flag layer of the configuration, and the --config file. */
export function parseRunFlags(args: string[]): { flags: ConfigInput; configFile: string | null } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const s of SETTINGS) {
    if (s.flag === null) continue;
    options[s.flag] =
      s.type === 'bool' ? { type: 'boolean' } : { type: 'string', multiple: s.type === 'list' };
  }
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    values = parseArgs({ args, strict: true, allowPositionals: false, options }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${RUN_USAGE}`);
  }
  if (values.help) throw new UsageError(RUN_USAGE);
  const problems: string[] = [];
  const layers: ConfigInput[] = [];
  for (const s of SETTINGS) {
    const raw = s.flag === null ? undefined : values[s.flag];
    if (raw === undefined) continue;
    const v = flagValue(s, raw as string | boolean | string[]);
    if (typeof v === 'string') {
      problems.push(`--${s.flag}: ${v}`);
      continue;
    }
    const fragment = s.to(v.value);
    problems.push(...checkFragment(`--${s.flag}`, fragment));
    layers.push(fragment);
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return { flags: mergeConfig(...layers), configFile: (values.config as string | undefined) ?? null };
}

/** Flags, environment and file, merged and checked once. */
export function parseRunArgs(
  args: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  defaultFile: string | null = DEFAULT_CONFIG_FILE,
): RunConfig {
  const { flags, configFile } = parseRunFlags(args);
  return loadConfig({ configFile, flags, env, defaultFile });
}

export async function run(args: string[]): Promise<number> {
  let config: RunConfig;
  try {
    config = parseRunArgs(args);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`bpfgate run: ${err.message}\n`);
    return 2;
  }
  const log = createLogger({
    level: config.log.level,
    ...(config.log.pretty !== null ? { pretty: config.log.pretty } : {}),
  });
  if (config.file) log.info({ file: config.file }, 'configuration read');
  const enricher = new Enricher();
  await enricher.start();
  const service = new Service(config, { log, probe, enricher });
  try {
    await service.start();
  } catch (err) {
    enricher.stop();
    if (err instanceof ValidationError) {
      process.stderr.write(`bpfgate run: the policy set is invalid, nothing was loaded:\n${err.message}\n`);
      return 1;
    }
    throw err;
  }

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping: detaching every program');
      service
        .stop()
        .then(() => {
          enricher.stop();
          log.info('stopped');
          resolve(0);
        })
        .catch((err) => {
          log.error({ err }, 'stop failed');
          resolve(4);
        });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGHUP', () => {
      if (!stopping) void service.reload('signal');
    });
  });
}
