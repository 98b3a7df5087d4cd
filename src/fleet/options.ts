// The fleet policy source's options: which NATS servers and bucket, the
// host's labels, where the last applied set is cached, and how long start-up
// waits for NATS before it falls back to that cache.
import type { NatsAuth } from '../nats/auth.ts';

export const DEFAULT_FLEET_BUCKET = 'bpfgate-policies';
/** Host status goes to a bucket of its own, not the one every host reads. */
export const DEFAULT_FLEET_STATUS_BUCKET = 'bpfgate-hosts';
export const DEFAULT_FLEET_CACHE_DIR = '/var/lib/bpfgate/fleet-cache';
export const DEFAULT_FLEET_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_FLEET_RECONNECT_WAIT_MS = 1000;

export interface FleetOptions {
  servers: string[];
  auth: NatsAuth;
  /** client name shown by the server */
  name: string;
  bucket: string;
  /** this host's labels, matched by the policies' bpfgate.dev/hosts selectors */
  labels: Record<string, string>;
  /** folder of the last applied set, used when NATS is unreachable at start; null: no cache */
  cacheDir: string | null;
  /** how long start-up tries to reach the bucket before it uses the cache */
  connectTimeoutMs: number;
  reconnectWaitMs: number;
  /** public nkeys whose signatures this host accepts on policy entries (src/fleet/signature.ts); none: every entry is refused */
  trustedKeys: string[];
  /** the bucket this host writes its status to (hosts.<host>); never the policy bucket's readers' business */
  statusBucket: string;
  /** write this host's status to hosts.<host> after every apply */
  publishStatus: boolean;
}

/** A KV bucket name: letters, digits, '-' and '_'. */
export const BUCKET_NAME = /^[-\w]+$/;

export function defaultFleetOptions(): FleetOptions {
  return {
    servers: [],
    auth: {},
    name: 'bpfgate-fleet',
    bucket: DEFAULT_FLEET_BUCKET,
    labels: {},
    cacheDir: DEFAULT_FLEET_CACHE_DIR,
    connectTimeoutMs: DEFAULT_FLEET_CONNECT_TIMEOUT_MS,
    reconnectWaitMs: DEFAULT_FLEET_RECONNECT_WAIT_MS,
    trustedKeys: [],
    statusBucket: DEFAULT_FLEET_STATUS_BUCKET,
    publishStatus: true,
  };
}
