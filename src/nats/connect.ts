// Connecting to NATS: one function that turns bpfgate's options into a
// nats.js connection, a retry loop for components that must keep trying
// until they are stopped, and a timeout for any NATS operation.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NatsAuth } from './auth.ts';
import { connectionOptions } from './options.ts';

export interface ConnectOptions {
  servers: readonly string[];
  auth: NatsAuth;
  /** client name shown by the server */
  name: string;
  /** how long one connection attempt may take; default: nats.js's */
  timeoutMs?: number;
  /** once connected, how often to try reconnecting after a loss: -1 forever; default: nats.js's */
  maxReconnectAttempts?: number;
  /** between reconnect attempts */
  reconnectWaitMs?: number;
  reconnectJitterMs?: number;
}

/** One connection attempt (reads key, creds and certificate files now). */
export function openConnection(o: ConnectOptions): Promise<NatsConnection> {
  return connect({
    ...connectionOptions(o.servers, o.auth, o.name),
    ...(o.timeoutMs !== undefined ? { timeout: o.timeoutMs } : {}),
    ...(o.maxReconnectAttempts !== undefined ? { maxReconnectAttempts: o.maxReconnectAttempts } : {}),
    ...(o.reconnectWaitMs !== undefined ? { reconnectTimeWait: o.reconnectWaitMs } : {}),
    ...(o.reconnectJitterMs !== undefined ? { reconnectJitter: o.reconnectJitterMs } : {}),
  });
}

export interface RetryOptions {
  /** wait between attempts */
  waitMs: number;
  /** checked before every attempt: true ends the loop */
  stopped: () => boolean;
  /** told of every failed attempt */
  onError?: (err: unknown) => void;
  /** the wait; a component passes one that its stop() can cut short */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Run `attempt` until it succeeds or `stopped()` says to give up (then null).
 * For connections that a component keeps trying in the background.
 */
export async function retry<T>(attempt: () => Promise<T>, o: RetryOptions): Promise<T | null> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  while (!o.stopped()) {
    try {
      return await attempt();
    } catch (err) {
      o.onError?.(err);
    }
    await sleep(o.waitMs);
  }
  return null;
}

/** `p`, or a rejection `<what> timed out after <ms> ms` if it takes longer. */
export function withTimeout<T>(p: Promise<T>, ms: number, what = ''): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what ? `${what} ` : ''}timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
