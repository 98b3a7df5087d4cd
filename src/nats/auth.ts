// NATS authentication: the options (one method: token, user + password, an
// nkey seed file or a .creds file; TLS files beside any of them), each
// declared once with its file key, command-line flag and environment
// variable. The configuration registry (src/config/) and the NATS flags of
// `tail` and `report` (./flags.ts) are both built from AUTH_FIELDS, so a rule
// about where a secret may come from is written here, once.

export interface NatsAuth {
  token?: string;
  user?: string;
  password?: string;
  /** file holding an nkey seed (SU...) */
  nkeySeedFile?: string;
  /** a .creds file: user JWT + nkey seed */
  credsFile?: string;
  tls?: { certFile?: string; keyFile?: string; caFile?: string };
}

export type TlsKey = 'certFile' | 'keyFile' | 'caFile';

/** One authentication option. */
export interface AuthField {
  /** where it sits under `auth` in the configuration file */
  path: readonly ['token' | 'user' | 'password' | 'nkeySeedFile' | 'credsFile'] | readonly ['tls', TlsKey];
  /** the flag of every command, without the dashes */
  flag: string;
  /** the spelling `tail` and `report` used before (still accepted, with a deprecation warning) */
  alias: string;
  /** the environment variable `bpfgate run` reads */
  env: string;
  /** value name in the usage text */
  arg: string;
  help: string;
  /** a secret itself (not a file holding one) */
  secret: boolean;
  /** a file path: relative paths in a configuration file are anchored at its folder */
  file: boolean;
  /** an empty value is refused */
  nonEmpty: boolean;
}

const field = (
  path: AuthField['path'],
  flag: string,
  alias: string,
  arg: string,
  help: string,
  o: { secret?: boolean; file?: boolean; nonEmpty?: boolean } = {},
): AuthField => ({
  path,
  flag,
  alias,
  env: `BPFGATE_${flag.toUpperCase().replaceAll('-', '_')}`,
  arg,
  help,
  secret: o.secret ?? false,
  file: o.file ?? false,
  nonEmpty: o.nonEmpty ?? true,
});

export const AUTH_FIELDS: readonly AuthField[] = [
  field(['token'], 'nats-token', 'token', 'T', 'NATS auth: token', { secret: true }),
  field(['user'], 'nats-user', 'user', 'U', 'NATS auth: user'),
  field(['password'], 'nats-password', 'password', 'P', 'NATS auth: password', {
    secret: true,
    nonEmpty: false,
  }),
  field(['nkeySeedFile'], 'nats-nkey', 'nkey', 'FILE', 'NATS auth: nkeySeedFile', { file: true }),
  field(['credsFile'], 'nats-creds', 'creds', 'FILE', 'NATS auth: credsFile', { file: true }),
  field(['tls', 'certFile'], 'nats-tls-cert', 'tls-cert', 'FILE', 'NATS TLS: certFile', { file: true }),
  field(['tls', 'keyFile'], 'nats-tls-key', 'tls-key', 'FILE', 'NATS TLS: keyFile', { file: true }),
  field(['tls', 'caFile'], 'nats-tls-ca', 'tls-ca', 'FILE', 'NATS TLS: caFile', { file: true }),
];

/** Why a secret field's flag is refused, and where the secret goes instead; never repeats the value. */
export function secretOnArgv(f: AuthField): string {
  return `--${f.flag}: a secret on the command line is readable by every user of this machine (ps, /proc/<pid>/cmdline); set ${f.env} in the environment or auth.${f.path.join('.')} in the configuration file instead`;
}

/** Set one field's value in an auth object. */
export function setAuthField(auth: NatsAuth, f: AuthField, value: string): void {
  if (f.path[0] === 'tls') auth.tls = { ...auth.tls, [f.path[1]]: value };
  else auth[f.path[0]] = value;
}

/** One field's value in an auth object, if set. */
export function authFieldValue(auth: NatsAuth, f: AuthField): string | undefined {
  return f.path[0] === 'tls' ? auth.tls?.[f.path[1]] : auth[f.path[0]];
}

/** A copy with every file path passed through `at` (a configuration file anchors them at its folder). */
export function mapAuthFiles(auth: NatsAuth, at: (path: string) => string): NatsAuth {
  const out = structuredClone(auth);
  for (const f of AUTH_FIELDS) {
    const v = authFieldValue(out, f);
    if (f.file && v) setAuthField(out, f, at(v));
  }
  return out;
}

export interface AuthProblem {
  /** auth, auth.password, auth.tls, auth.<unknown key>... */
  key: string;
  message: string;
}

const AUTH_KEYS = new Set(['token', 'user', 'password', 'nkeySeedFile', 'credsFile', 'tls']);
const TLS_KEYS = new Set(['certFile', 'keyFile', 'caFile']);

/** Every problem of an auth object: unknown keys, more than one method, options that go together. */
export function checkAuth(auth: NatsAuth | Record<string, unknown>): AuthProblem[] {
  const problems: AuthProblem[] = [];
  const a = auth as NatsAuth & Record<string, unknown>;
  for (const k of Object.keys(a))
    if (!AUTH_KEYS.has(k)) problems.push({ key: `auth.${k}`, message: 'unknown option' });
  for (const k of Object.keys(a.tls ?? {}))
    if (!TLS_KEYS.has(k)) problems.push({ key: `auth.tls.${k}`, message: 'unknown option' });
  const methods = [a.token, a.user, a.nkeySeedFile, a.credsFile].filter((v) => v !== undefined).length;
  if (methods > 1) problems.push({ key: 'auth', message: 'choose one of token, user+password, nkey, creds' });
  if (a.user !== undefined && a.password === undefined)
    problems.push({ key: 'auth.password', message: 'required with auth.user' });
  if (a.password !== undefined && a.user === undefined)
    problems.push({ key: 'auth.user', message: 'required with auth.password' });
  if (a.tls && (a.tls.certFile === undefined) !== (a.tls.keyFile === undefined))
    problems.push({ key: 'auth.tls', message: 'certFile and keyFile go together' });
  return problems;
}
