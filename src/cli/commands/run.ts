// bpfgate run: the daemon in the foreground. Violations are printed as one
// JSON line each on stdout (and published to NATS with --nats); logs go to
// stderr. SIGINT/SIGTERM detach everything and exit 0; SIGHUP reloads.
import { parseArgs } from 'node:util';
import type { FeatureSet } from '../../compiler/features.ts';
import { Daemon, type DaemonOptions, defaultDaemonOptions } from '../../daemon/daemon.ts';
import { UsageError, ValidationError } from '../../errors.ts';
import { Enricher } from '../../events/enrich.ts';
import { createLogger, LOG_LEVELS, type LogLevel } from '../../log.ts';
import { type NatsAuth, parseSinkOptions } from '../../sinks/options.ts';

export const RUN_USAGE = `usage: bpfgate run [options]

  --policies PATH         policy file or folder (repeatable; default policies/)
  --audit                 dry run: every policy in audit mode; block and kill become would-block and would-kill
  --require-enforcement   refuse to start when a rule would be enforced more weakly than asked
  --cgroup PATH           cgroup v2 directory the cgroup programs attach to (default: the cgroup2 root)
  --format native|ocsf    event format on stdout and NATS (default native)
  --no-stdout             do not print violations on stdout
  --aggregate MS          merge identical violations within MS milliseconds (default 0: every event)
  --nats URL              publish violations to NATS (repeatable for a cluster)
  --nats-mode jetstream|core   (default jetstream: acknowledged, de-duplicated by Nats-Msg-Id)
  --nats-spool DIR        on-disk spool for events while NATS is unreachable
  --nats-token T | --nats-user U --nats-password P | --nats-nkey FILE | --nats-creds FILE
  --nats-tls-cert FILE --nats-tls-key FILE --nats-tls-ca FILE
  --host NAME             host name in events and subjects (default: this machine's)
  --log-level LEVEL       fatal, error, warn, info, debug, trace (default info)
`;

/** The kernel probe, loaded only when the daemon starts. */
async function probe(): Promise<FeatureSet> {
  const mod = (await import('../../kernel/probe.ts')) as { probeFeatures: () => Promise<FeatureSet> };
  return mod.probeFeatures();
}

export function parseRunArgs(args: string[]): { options: DaemonOptions; logLevel: LogLevel } {
  let v: ReturnType<typeof parse>['values'];
  function parse() {
    return parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        policies: { type: 'string', multiple: true },
        audit: { type: 'boolean' },
        'require-enforcement': { type: 'boolean' },
        cgroup: { type: 'string' },
        format: { type: 'string' },
        'no-stdout': { type: 'boolean' },
        aggregate: { type: 'string' },
        nats: { type: 'string', multiple: true },
        'nats-mode': { type: 'string' },
        'nats-spool': { type: 'string' },
        'nats-token': { type: 'string' },
        'nats-user': { type: 'string' },
        'nats-password': { type: 'string' },
        'nats-nkey': { type: 'string' },
        'nats-creds': { type: 'string' },
        'nats-tls-cert': { type: 'string' },
        'nats-tls-key': { type: 'string' },
        'nats-tls-ca': { type: 'string' },
        host: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  }
  try {
    v = parse().values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${RUN_USAGE}`);
  }
  if (v.help) throw new UsageError(RUN_USAGE);
  const o = defaultDaemonOptions();
  if (v.policies) o.policyPaths = v.policies;
  o.audit = v.audit === true;
  o.requireEnforcement = v['require-enforcement'] === true;
  if (v.cgroup !== undefined) o.cgroupAttach = v.cgroup;
  if (v.format !== undefined) {
    if (v.format !== 'native' && v.format !== 'ocsf')
      throw new UsageError(`--format: native or ocsf, not '${v.format}'`);
    o.format = v.format;
  }
  o.stdout = v['no-stdout'] !== true;
  if (v.aggregate !== undefined) {
    const ms = Number(v.aggregate);
    if (!Number.isInteger(ms) || ms < 0)
      throw new UsageError(`--aggregate: milliseconds (an integer >= 0), not '${v.aggregate}'`);
    o.aggregateWindowMs = ms;
  }
  if (v.host !== undefined) o.host = v.host;
  const level = (v['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level: one of ${LOG_LEVELS.join(', ')}`);
  if (v.nats) {
    const auth: NatsAuth = {};
    if (v['nats-token'] !== undefined) auth.token = v['nats-token'];
    if (v['nats-user'] !== undefined) auth.user = v['nats-user'];
    if (v['nats-password'] !== undefined) auth.password = v['nats-password'];
    if (v['nats-nkey'] !== undefined) auth.nkeySeedFile = v['nats-nkey'];
    if (v['nats-creds'] !== undefined) auth.credsFile = v['nats-creds'];
    if (v['nats-tls-cert'] || v['nats-tls-key'] || v['nats-tls-ca']) {
      auth.tls = {
        ...(v['nats-tls-cert'] ? { certFile: v['nats-tls-cert'] } : {}),
        ...(v['nats-tls-key'] ? { keyFile: v['nats-tls-key'] } : {}),
        ...(v['nats-tls-ca'] ? { caFile: v['nats-tls-ca'] } : {}),
      };
    }
    try {
      o.nats = parseSinkOptions({
        servers: v.nats,
        auth,
        format: o.format,
        ...(v['nats-mode'] !== undefined ? { mode: v['nats-mode'] as 'jetstream' | 'core' } : {}),
        ...(v['nats-spool'] !== undefined ? { spoolDir: v['nats-spool'] } : {}),
      });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return { options: o, logLevel: level };
}

export async function run(args: string[]): Promise<number> {
  const { options, logLevel } = parseRunArgs(args);
  const log = createLogger({ level: logLevel });
  const enricher = new Enricher();
  await enricher.start();
  const daemon = new Daemon(options, { log, probe, enricher });
  try {
    await daemon.start();
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
      daemon
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
      log.info('SIGHUP: reloading policies');
      void daemon.reload();
    });
  });
}
