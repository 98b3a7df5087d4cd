// NATS connection options shared by every user of NATS (the event sink, the
// fleet's policy bucket, `tail`, `report`): server URLs, the client name, and
// the translation of an auth configuration to nats.js connection options.
import { readFileSync } from 'node:fs';
import { credsAuthenticator, type NodeConnectionOptions, nkeyAuthenticator } from '@nats-io/transport-node';
import type { NatsAuth } from './auth.ts';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/**
 * A server: nats://host:port, tls://host:port or host:port (the config schema
 * uses the same pattern). No user:password@: credentials in a URL end up in
 * logs, the process list and status output; they go in auth.
 */
export const SERVER_URL_PATTERN = '^((nats|tls)://[^\\s/@]+|[^\\s:/@]+:[0-9]+)$';
const SERVER_URL = new RegExp(SERVER_URL_PATTERN);

/** A server URL for messages: whatever precedes an @ (credentials) replaced by ***. */
export function redactUrl(url: string): string {
  return url.replace(/^((?:[a-z]+:\/\/)?)[^@/\s]*@/i, '$1***@');
}

/**
 * The warning for credentials that would cross a plaintext connection: a
 * nats:// or host:port server with a token, a password, an nkey or creds and
 * no TLS files (which make the client require TLS). null when none would.
 */
export function plaintextCredentials(servers: readonly string[], auth: NatsAuth): string | null {
  const secret = auth.token ?? auth.password ?? auth.nkeySeedFile ?? auth.credsFile;
  if (secret === undefined || auth.tls !== undefined) return null;
  const plain = servers.filter((s) => !s.startsWith('tls://'));
  if (plain.length === 0) return null;
  return `NATS credentials over plaintext ${plain.map(redactUrl).join(', ')}: anyone on the path can read or replay them; use tls:// servers (or set auth.tls); --require-tls makes this an error`;
}

/** Problems of a server list: empty, or an entry that is not a server URL. Never repeats credentials. */
export function checkServers(servers: unknown): string[] {
  if (typeof servers === 'string') servers = [servers];
  if (!Array.isArray(servers) || servers.length === 0) return ['at least one nats:// or tls:// URL'];
  return servers
    .filter((s) => typeof s !== 'string' || !SERVER_URL.test(s))
    .map((s) =>
      typeof s === 'string' && s.includes('@')
        ? `${redactUrl(s)}: credentials in a server URL are refused (they would show in logs and the process list); use auth (a creds or nkey file, or --nats-user with BPFGATE_NATS_PASSWORD)`
        : `not a server URL: ${String(s)}`,
    );
}

/** nats.js connection options for an auth configuration (reads key, creds and certificate files now). */
export function connectionOptions(
  servers: readonly string[],
  auth: NatsAuth,
  name: string,
): NodeConnectionOptions {
  const opts: NodeConnectionOptions = { servers: [...servers], name };
  if (auth.token !== undefined) opts.token = auth.token;
  if (auth.user !== undefined) {
    opts.user = auth.user;
    opts.pass = auth.password ?? '';
  }
  if (auth.nkeySeedFile !== undefined) {
    const seed = readFileSync(auth.nkeySeedFile, 'utf8').trim();
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (auth.credsFile !== undefined) {
    opts.authenticator = credsAuthenticator(readFileSync(auth.credsFile));
  }
  if (auth.tls !== undefined) {
    opts.tls = {
      ...(auth.tls.caFile !== undefined ? { caFile: auth.tls.caFile } : {}),
      ...(auth.tls.certFile !== undefined ? { certFile: auth.tls.certFile } : {}),
      ...(auth.tls.keyFile !== undefined ? { keyFile: auth.tls.keyFile } : {}),
    };
  }
  return opts;
}
