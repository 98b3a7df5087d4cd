// bpfgate run: the daemon in the foreground. Violations are printed on
// stdout, one readable line each on a terminal and one JSON line each
// otherwise (--output), and published to NATS when configured; logs go to
// stderr. SIGINT/SIGTERM detach everything and exit 0; SIGHUP (and a
// change in a policy folder) reloads. Configuration: flags > BPFGATE_*
// environment > the config file > defaults (docs/operations.md).
import { isatty } from 'node:tty';
import type { FeatureSet } from '../../abi/features.ts';
import { configFromFlags } from '../../config/layers.ts';
import { runHelpText } from '../../config/render.ts';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig, type RunConfig } from '../../config/resolve.ts';
import { composeService } from '../../daemon/compose.ts';
import { ValidationError } from '../../errors.ts';
import { Enricher } from '../../events/enrich.ts';
import { createLogger } from '../../log.ts';
import { EXIT } from '../exit.ts';

export const RUN_USAGE = runHelpText();

/** The kernel probe, loaded only when the daemon starts. */
async function probe(): Promise<FeatureSet> {
  const mod = (await import('../../kernel/probe.ts')) as { probeFeatures: () => Promise<FeatureSet> };
  return mod.probeFeatures();
}

/** Does an orderly stop leave the programs enforcing (pinned, --keep-enforcing)? */
export function keepsEnforcing(config: RunConfig): boolean {
  return config.daemon.keepEnforcing && config.daemon.pinRoot !== null;
}

/** The log line of an orderly stop: what happens to enforcement. */
export function stoppingMessage(config: RunConfig): string {
  return keepsEnforcing(config)
    ? 'stopping: the pinned programs keep enforcing until the next start adopts them (bpfgate unload removes them)'
    : 'stopping: detaching every program';
}

/** Flags, environment and file, merged and checked once; null for --help. */
export function parseRunArgs(
  args: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  defaultFile: string | null = DEFAULT_CONFIG_FILE,
): RunConfig | null {
  const { flags, configFile, help } = configFromFlags(args);
  if (help) return null;
  return loadConfig({ configFile, flags, env, defaultFile });
}

export async function run(args: string[]): Promise<number> {
  let parsed: RunConfig | null;
  try {
    parsed = parseRunArgs(args);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`bpfgate run: ${err.message}\n`);
    return EXIT.usage;
  }
  if (!parsed) {
    process.stdout.write(RUN_USAGE);
    return EXIT.ok;
  }
  const config = parsed;
  const log = createLogger({
    level: config.log.level,
    ...(config.log.pretty !== null ? { pretty: config.log.pretty } : {}),
  });
  if (config.file) log.info({ file: config.file }, 'configuration read');
  const enricher = new Enricher();
  await enricher.start();
  const terminal = isatty(1) ? { color: !process.env.NO_COLOR && process.env.TERM !== 'dumb' } : undefined;
  const service = composeService(config, { log, probe, enricher, ...(terminal ? { terminal } : {}) });
  try {
    await service.start();
  } catch (err) {
    enricher.stop();
    if (err instanceof ValidationError) {
      process.stderr.write(`bpfgate run: the policy set is invalid, nothing was loaded:\n${err.message}\n`);
      return EXIT.failed;
    }
    throw err;
  }

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      const keep = keepsEnforcing(config);
      log.info({ signal, keepEnforcing: keep }, stoppingMessage(config));
      service
        .stop()
        .then(() => {
          enricher.stop();
          log.info('stopped');
          resolve(EXIT.ok);
        })
        .catch((err) => {
          log.error({ err }, 'stop failed');
          resolve(EXIT.runtime);
        });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGHUP', () => {
      if (!stopping) void service.reload('signal');
    });
  });
}
