// The one formatting step between an event and every output (stdout, NATS):
// native JSON, or OCSF for violations. OCSF has no class for bpfgate's own
// loss, policy_error and tamper events: those stay native in both formats.
import { toOcsf } from '../events/ocsf.ts';
import type { BpfgateEvent } from '../events/types.ts';

export const EVENT_FORMATS = ['native', 'ocsf'] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];

/** The object an output writes for an event. */
export function formatEvent(event: BpfgateEvent, format: EventFormat): unknown {
  return format === 'ocsf' && event.type === 'violation' ? toOcsf(event) : event;
}

/** The event as one JSON text in the given format. */
export function formatJson(event: BpfgateEvent, format: EventFormat): string {
  return JSON.stringify(formatEvent(event, format));
}
