// The NATS flags every command that talks to NATS shares (`tail`, `report`;
// `bpfgate run` reads the same fields through the configuration registry):
// --nats URL (repeatable) and one flag per auth field, spelled as in
// AUTH_FIELDS. The spellings `tail` and `report` used before (--creds,
// --token, --tls-ca...) are still accepted, with a deprecation warning.
import { UsageError } from '../errors.ts';
import { AUTH_FIELDS, type AuthField, checkAuth, type NatsAuth, secretOnArgv, setAuthField } from './auth.ts';
import { checkServers, DEFAULT_NATS_URL, plaintextCredentials } from './options.ts';

type FlagOption = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

/** parseArgs option definitions for --nats and the auth flags (and their deprecated aliases). */
export function natsFlagOptions(): Record<string, FlagOption> {
  const options: Record<string, FlagOption> = { nats: { type: 'string', multiple: true } };
  for (const f of AUTH_FIELDS) {
    options[f.flag] = { type: 'string' };
    options[f.alias] = { type: 'string' };
  }
  return options;
}

/** The usage lines for the NATS flags. */
export function natsFlagHelp(serverHelp: string): string {
  const auth = (keys: string[]) =>
    AUTH_FIELDS.filter((f) => keys.includes(f.path.at(-1) as string))
      .map((f) => `--${f.flag} ${f.arg}`)
      .join(' | ');
  const env = (key: string) => AUTH_FIELDS.find((f) => f.path.at(-1) === key)?.env ?? '';
  return [
    `  ${'--nats URL'.padEnd(18)} ${serverHelp}`,
    `  ${auth(['credsFile', 'nkeySeedFile'])} | --nats-user U with ${env('password')} | ${env('token')}`,
    `  (secrets come from the environment only: the command line is readable by every user)`,
    `  ${AUTH_FIELDS.filter((f) => f.path[0] === 'tls')
      .map((f) => `--${f.flag} ${f.arg}`)
      .join('  ')}`,
  ].join('\n');
}

/** The flag name a problem of checkAuth() speaks of. */
function flagOf(key: string): string {
  const f = AUTH_FIELDS.find((x) => `auth.${x.path.join('.')}` === key);
  if (f) return f.secret ? f.env : `--${f.flag}`;
  if (key === 'auth.tls') return '--nats-tls-cert/--nats-tls-key';
  return '--nats-*';
}

export interface NatsFlags {
  /** the --nats servers given (possibly none) */
  servers: string[];
  auth: NatsAuth;
}

/**
 * The NATS part of a command line parsed by node:util parseArgs with
 * natsFlagOptions(). Throws UsageError naming every problem; `warn` receives
 * one line per deprecated spelling used.
 */
export function parseNatsFlags(
  values: Record<string, unknown>,
  warn: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): NatsFlags {
  const servers = ((values.nats as string[] | undefined) ?? []).slice();
  const auth: NatsAuth = {};
  const problems: string[] = [];
  const given = (f: AuthField, spelling: string): void => {
    const v = values[spelling];
    if (typeof v !== 'string') return;
    if (f.nonEmpty && v === '') problems.push(`--${f.flag}: must not be empty`);
    setAuthField(auth, f, v);
  };
  for (const f of AUTH_FIELDS) {
    if (f.secret) {
      // never from argv: the environment (the same variable as bpfgate run's)
      if (typeof values[f.flag] === 'string' || typeof values[f.alias] === 'string')
        problems.push(secretOnArgv(f));
      const fromEnv = env[f.env];
      if (fromEnv !== undefined && fromEnv !== '') setAuthField(auth, f, fromEnv);
      continue;
    }
    if (typeof values[f.alias] === 'string') {
      warn(`--${f.alias} is deprecated; use --${f.flag}`);
      if (typeof values[f.flag] === 'string')
        problems.push(`--${f.alias} and --${f.flag} are the same option`);
      given(f, f.alias);
    }
    given(f, f.flag);
  }
  if (servers.length > 0) problems.push(...checkServers(servers).map((p) => `--nats: ${p}`));
  for (const p of checkAuth(auth)) {
    problems.push(
      p.key === 'auth'
        ? 'choose one of BPFGATE_NATS_TOKEN, --nats-user with BPFGATE_NATS_PASSWORD, --nats-nkey, --nats-creds'
        : `${flagOf(p.key)}: ${p.message.replace(/auth\.(\w+)/g, (_, k: string) => flagOf(`auth.${k}`))}`,
    );
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  const plain = plaintextCredentials(servers.length > 0 ? servers : [DEFAULT_NATS_URL], auth);
  if (plain) warn(plain.replace('--require-tls makes this an error', 'bpfgate run --require-tls refuses it'));
  return { servers, auth };
}
