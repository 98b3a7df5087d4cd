// The metrics endpoint: GET /metrics (Prometheus text), /healthz (200 while
// enforcing and reading events, 503 with the reason otherwise) and /status (JSON). Read-only; a bare port binds
// loopback. /status tells which rules are not enforced, so it is served to
// loopback peers only, unless a bearer token is configured
// (metrics.statusTokenFile): then every request for it must carry the token.
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BpfgateError } from '../errors.ts';
import { type DaemonMetrics, type DaemonView, statusOf } from './metrics.ts';

export interface HttpLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export class ListenAddressError extends BpfgateError {
  constructor(listen: string, message = false) {
    super(
      'INVALID_LISTEN_ADDRESS',
      message ? listen : `metrics.listen: '${listen}' is not host:port or a port`,
    );
  }
}

/** "127.0.0.1:9477", "[::1]:9477", "localhost:0", or a bare port "9477" (loopback) → host and port. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):)?(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new ListenAddressError(listen);
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

/** A peer address on this machine's loopback (127.0.0.0/8, ::1, and 127.x mapped into IPv6). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

/** May this request read /status? null when it may, else the refusal. */
export function statusRefusal(
  token: Buffer | null,
  authorization: string | undefined,
  peer: string | undefined,
): { status: number; body: string } | null {
  if (token === null)
    return isLoopback(peer)
      ? null
      : { status: 403, body: '/status is served to loopback only unless metrics.statusTokenFile is set\n' };
  const m = /^Bearer (\S+)$/.exec(authorization ?? '');
  const given = Buffer.from(m?.[1] ?? '');
  const ok = given.length === token.length && timingSafeEqual(given, token);
  return ok ? null : { status: 401, body: 'a bearer token is required for /status\n' };
}

/** The bearer token from its file (one line); throws a message that never repeats the content. */
export async function readStatusToken(file: string): Promise<Buffer> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ListenAddressError(
      `metrics.statusTokenFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`,
      true,
    );
  }
  const token = text.trim();
  if (!/^\S{16,}$/.test(token))
    throw new ListenAddressError(
      `metrics.statusTokenFile: ${file} must hold one token of at least 16 characters`,
      true,
    );
  return Buffer.from(token);
}

/** Answer one request; exported for tests without a socket. */
export async function handle(
  metrics: DaemonMetrics,
  view: DaemonView,
  method: string,
  url: string,
): Promise<{ status: number; type: string; body: string }> {
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, type: 'text/plain', body: 'GET only\n' };
  const path = url.split('?')[0];
  switch (path) {
    case '/metrics':
      return { status: 200, type: metrics.contentType, body: await metrics.text() };
    case '/healthz':
      if (!view.enforcing) return { status: 503, type: 'text/plain', body: 'not enforcing\n' };
      if (view.readingStopped !== null)
        return {
          status: 503,
          type: 'text/plain',
          body: `enforcing, but not reading events (retrying): ${view.readingStopped}\n`,
        };
      return { status: 200, type: 'text/plain', body: 'enforcing\n' };
    case '/status':
      return {
        status: 200,
        type: 'application/json',
        body: `${JSON.stringify(statusOf(view), null, 2)}\n`,
      };
    default:
      return { status: 404, type: 'text/plain', body: 'not found: /metrics, /healthz, /status\n' };
  }
}

export class MetricsServer {
  readonly #metrics: DaemonMetrics;
  readonly #view: DaemonView;
  readonly #log: HttpLog;
  #server: Server | null = null;

  constructor(metrics: DaemonMetrics, view: DaemonView, log: HttpLog) {
    this.#metrics = metrics;
    this.#view = view;
    this.#log = log;
  }

  /** host:port actually bound (port 0 picks a free one). */
  get address(): string | null {
    const a = this.#server?.address() as AddressInfo | null | undefined;
    if (!a) return null;
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  async start(listen: string, statusTokenFile: string | null = null): Promise<void> {
    const { host, port } = parseListen(listen);
    const token = statusTokenFile === null ? null : await readStatusToken(statusTokenFile);
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if ((req.url ?? '/').split('?')[0] === '/status') {
        const refused = statusRefusal(token, req.headers.authorization, req.socket.remoteAddress);
        if (refused) {
          res.writeHead(refused.status, {
            'content-type': 'text/plain',
            'cache-control': 'no-store',
            ...(refused.status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
          });
          res.end(refused.body);
          return;
        }
      }
      handle(this.#metrics, this.#view, req.method ?? 'GET', req.url ?? '/')
        .then((r) => {
          res.writeHead(r.status, { 'content-type': r.type, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : r.body);
        })
        .catch((err) => {
          this.#log.warn({ err }, 'metrics request failed');
          res.writeHead(500).end();
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#log.info({ listen: this.address }, 'metrics endpoint: /metrics /healthz /status');
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
