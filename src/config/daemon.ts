// What a daemon runs with (the configuration resolves to this: ./resolve.ts),
// and its defaults for whatever the configuration does not set.
import os from 'node:os';
import { DEFAULT_PIN_ROOT } from '../kernel/pins.ts';
import type { EventFormat } from '../sinks/format.ts';
import { DEFAULT_EVENTS_SOCKET } from '../sinks/local.ts';
import type { SinkOptions } from '../sinks/options.ts';
import type { StdoutView } from '../sinks/stdout.ts';

export interface DaemonOptions {
  policyPaths: string[];
  /** every policy in audit mode: nothing is denied or killed, outcomes are would-* */
  audit: boolean;
  /** refuse to start when any rule would be enforced more weakly than asked */
  requireEnforcement: boolean;
  /** cgroup v2 directory the cgroup programs attach to; null: the cgroup2 root */
  cgroupAttach: string | null;
  objectPath?: string;
  format: EventFormat;
  stdout: boolean;
  /** violations on stdout: text lines (for a person) or JSON lines; auto: text on a terminal */
  view: StdoutView;
  /** Unix socket for local viewers (bpfgate tail without NATS); null: none */
  eventsSocket: string | null;
  nats: Readonly<SinkOptions> | null;
  host: string;
  statsIntervalMs: number;
  /** identical violations within this window become one event with a count; 0: every event */
  aggregateWindowMs: number;
  /** records a second the kernel writes for one process repeating one violation; the rest are counted (0: every attempt) */
  kernelRecordsPerSecond: number;
  /** bpffs folder every map and link is pinned under (docs/persistence.md); null: nothing pinned */
  pinRoot: string | null;
  /** an orderly stop leaves the pins: enforcement goes on until the next daemon adopts it (or bpfgate unload) */
  keepEnforcing: boolean;
  /** self-protection (BPF-LSM, or fmod_ret where BPF-LSM is built but not active): no other process may detach, unpin, write, signal or ptrace bpfgate */
  protect: boolean;
}

export function defaultDaemonOptions(): DaemonOptions {
  return {
    policyPaths: ['policies/'],
    audit: false,
    requireEnforcement: false,
    cgroupAttach: null,
    format: 'native',
    stdout: true,
    view: 'auto',
    eventsSocket: DEFAULT_EVENTS_SOCKET,
    nats: null,
    host: os.hostname(),
    statsIntervalMs: 1000,
    aggregateWindowMs: 0,
    kernelRecordsPerSecond: 16,
    pinRoot: DEFAULT_PIN_ROOT,
    keepEnforcing: false,
    protect: false,
  };
}
