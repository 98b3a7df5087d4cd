// The native event contract: the TypeScript mirror of schemas/event.schema.json.
// Every event bpfgate emits is one of these three shapes. Pure types.
import type { MechanismName, OutcomeName } from '../abi/layout.ts';
import type { LossSource } from '../kernel/record.ts';
import type { RuleKind, Target } from '../kinds/index.ts';
import type { Severity } from '../policy/vocabulary.ts';

export const SCHEMA_VERSION = '1.0';
export const SCHEMA_ID = 'https://bpfgate.dev/schemas/event/1.0/event.schema.json';

/** What the rule asked for (an allowlist's default: block). */
export const EVENT_ACTIONS = ['block', 'kill', 'audit'] as const;
export type EventAction = (typeof EVENT_ACTIONS)[number];
export type EventMode = 'enforce' | 'audit';
/** The engines src/events/enrich.ts recognises from a cgroup path. */
export const CONTAINER_RUNTIMES = ['docker', 'containerd', 'cri-o', 'podman', 'kubernetes'] as const;
export type ContainerRuntime = (typeof CONTAINER_RUNTIMES)[number];
/** Where events can be lost (src/kernel/record.ts says what each means). */
export { LOSS_SOURCES, type LossSource } from '../kernel/record.ts';

interface EventBase {
  schemaVersion: typeof SCHEMA_VERSION;
  /** unique, time-sortable (26 chars, Crockford base32); also the Nats-Msg-Id */
  id: string;
  /** nanoseconds since the Unix epoch, as a decimal string */
  timeNs: string;
  /** RFC 3339 with nanoseconds, UTC */
  time: string;
  host: string;
}

export interface ProcessInfo {
  pid: number;
  tgid: number;
  ppid: number;
  uid: number;
  gid: number;
  euid: number;
  user?: string;
  comm: string;
  executable?: string;
  args?: string[];
  argsTruncated?: boolean;
  /** fields read from /proc after the event (the process may have changed them, exec'd or exited meanwhile) */
  fromProc?: ('executable' | 'args')[];
  cgroup: { id: string; path?: string };
  container?: { id: string; runtime?: string };
}

/** The kind-specific part of a violation (src/kinds/<kind>.ts, schemas/event.schema.json). */
export type { Target } from '../kinds/index.ts';

export interface ViolationEvent extends EventBase {
  type: 'violation';
  policy: { name: string; rule: string; severity: Severity; tags: string[] };
  action: EventAction;
  outcome: OutcomeName;
  mode: EventMode;
  kind: RuleKind;
  mechanism: MechanismName;
  process: ProcessInfo;
  parent: { pid: number; executable?: string; fromProc?: 'executable'[] };
  target: Target;
  message: string;
  /** what the kernel returned to the caller (negative errno when denied) */
  ret: number;
  flags?: string[];
  /** the path (or the acting executable's path) could not be built and was decided fail-closed */
  unresolved?: true;
  /** present when aggregated: number of identical violations this event stands for */
  count?: number;
  firstTimeNs?: string;
  firstTime?: string;
  lastTimeNs?: string;
  lastTime?: string;
}

export interface LossEvent extends EventBase {
  type: 'loss';
  loss: { source: LossSource; count: number };
  message: string;
}

export interface PolicyErrorDiagnostic {
  code: string;
  message: string;
  severity: 'error' | 'warning';
  file: string;
  line: number;
  column: number;
}

export interface PolicyErrorEvent extends EventBase {
  type: 'policy_error';
  diagnostics: PolicyErrorDiagnostic[];
  message: string;
}

export type BpfgateEvent = ViolationEvent | LossEvent | PolicyErrorEvent;
