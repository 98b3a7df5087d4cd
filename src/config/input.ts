// Generated from src/config/settings.ts by `npm run generate`; do not edit.
// The configuration file's shape (schemas/config.schema.json): every key optional.

export interface ConfigInput {
  /** Policy files and folders (their *.yaml and *.yml files) */
  policies?: string[];
  /** audit: a dry run, every block and kill becomes would-block, would-kill or would-kill-after */
  mode?: 'enforce' | 'audit';
  /** Refuse to start (or to reload) when a rule would be enforced more weakly than asked */
  requireEnforcement?: boolean;
  /** cgroup v2 directory the cgroup programs attach to; null: the cgroup2 root */
  cgroupAttach?: string | null;
  /** Host name in events and NATS subjects */
  host?: string;
  /** Refuse to start when NATS credentials would cross a plaintext nats:// connection (otherwise a warning) */
  requireTls?: boolean;
  output?: {
    /** Print violations as JSON lines on stdout */
    stdout?: boolean;
    /** How violations look on stdout: text (one readable line each), json (JSON lines), auto (text on a terminal, else json) */
    view?: 'auto' | 'text' | 'json';
    /** Unix socket (owner only) from which `bpfgate tail` reads events without NATS; null: none */
    socket?: string | null;
    /** Event format on stdout and NATS */
    format?: 'native' | 'ocsf';
    /** Merge identical violations within this many milliseconds; 0: every event */
    aggregateWindowMs?: number;
    /** Records a second the kernel writes for one process repeating one violation (same rule and target); it counts the rest, and the next event carries them in its count. 0: a record for every attempt */
    kernelRecordsPerSecond?: number;
  };
  /** Publish events to NATS. Omit the section (or its servers) to publish nowhere */
  nats?: {
    /** NATS servers (nats://, tls:// or host:port); without them nothing is published */
    servers?: string[];
    /** jetstream: acknowledged, de-duplicated by Nats-Msg-Id; core: fire and flush */
    mode?: 'jetstream' | 'core';
    /** First tokens of every subject (docs/events.md) */
    subjectPrefix?: string;
    /** Client name shown by the server */
    name?: string;
    /** Events waiting in memory for the publisher; beyond this they are dropped and counted */
    queueMax?: number;
    /** How long a publish may wait for its acknowledgement */
    publishTimeoutMs?: number;
    /** Events published at once */
    batch?: number;
    /** Wait between connection attempts */
    reconnectWaitMs?: number;
    /** One of token, user+password, nkeySeedFile, credsFile; tls beside any of them */
    auth?: {
      /** NATS auth: token */
      token?: string;
      /** NATS auth: user */
      user?: string;
      /** NATS auth: password */
      password?: string;
      /** NATS auth: nkeySeedFile */
      nkeySeedFile?: string;
      /** NATS auth: credsFile */
      credsFile?: string;
      tls?: {
        /** NATS TLS: certFile */
        certFile?: string;
        /** NATS TLS: keyFile */
        keyFile?: string;
        /** NATS TLS: caFile */
        caFile?: string;
      };
    };
    /** On-disk spool for events while NATS is unreachable */
    spool?: {
      /** Spool folder; null: no spool (events that cannot be published are dropped and counted) */
      dir?: string | null;
      /** Spool size; when full the newest events are dropped and counted */
      maxBytes?: number;
      /** Spool segment file size */
      segmentBytes?: number;
      /** When spooled events are synced to disk */
      fsync?: 'always' | 'interval' | 'never';
      /** With fsync interval: how often */
      fsyncIntervalMs?: number;
    };
  };
  log?: {
    /** Log level */
    level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
    /** Readable logs instead of JSON lines */
    pretty?: boolean;
  };
  metrics?: {
    /** host:port (or a port: loopback) for /metrics (Prometheus), /healthz and /status; null: off */
    listen?: string | null;
    /** File holding a bearer token every /status request must carry; null: /status is served to loopback peers only */
    statusTokenFile?: string | null;
  };
  /** Enforcement that outlives the daemon (docs/persistence.md) */
  pins?: {
    /** bpffs folder every map and link is pinned under; null: nothing pinned */
    root?: string | null;
    /** An orderly stop leaves the pins, so enforcement goes on until the next daemon adopts it (or bpfgate unload) */
    keepEnforcing?: boolean;
    /** Self-protection, on kernels with BPF-LSM active or, where it is built but not active, fmod_ret on the security_* functions: no other process, root included, may detach or replace bpfgate's programs, write its maps, remove its pins, signal or ptrace the daemon, or stop it through its cgroup, rlimits, scheduling, SIGIO or oom_score_adj (docs/persistence.md; break glass: /run/bpfgate/break-glass or bpfgate.protect=off on the kernel command line). Refused at start where neither works */
    protect?: boolean;
  };
  policyWatch?: {
    /** Reload when a policy file changes */
    enabled?: boolean;
    /** Wait this long after the last change */
    debounceMs?: number;
  };
  /** Policies from a NATS KV bucket shared by the fleet instead of files (docs/fleet.md). Omit the section to read policy files */
  fleet?: {
    /** NATS servers of the policy bucket */
    servers?: string[];
    /** The fleet policy bucket */
    bucket?: string;
    /** This host's labels, matched by the bpfgate.dev/hosts selector of each policy in the bucket */
    labels?: Record<string, string>;
    /** Client name shown by the server */
    name?: string;
    /** NATS auth for the bucket, as nats.auth */
    auth?: NonNullable<NonNullable<ConfigInput['nats']>['auth']>;
    /** Folder of the last applied set, enforced when NATS is unreachable at start; null: no cache (then an unreachable NATS stops the start) */
    cacheDir?: string | null;
    /** How long start-up tries to reach the bucket before it uses the cache */
    connectTimeoutMs?: number;
    /** Wait between connection attempts */
    reconnectWaitMs?: number;
    /** Public nkeys (U…) whose signatures this host accepts: only policy entries signed by one of them are applied (docs/fleet.md) */
    trustedKeys?: string[];
    /** Write this host's status to hosts.<host> in the status bucket after every apply */
    publishStatus?: boolean;
    /** The bucket of the hosts' status, apart from the policies every host reads (create it; hosts write, the security team reads) */
    statusBucket?: string;
  };
}
