// What counts as a JetStream acknowledgement of a published event. Only a
// reply that says which stream stored the message and at which sequence
// (`{"stream": "...", "seq": n}`, no error) is one: an empty reply, `+OK`, a
// core-NATS responder's answer or a JSON object without stream and seq is
// not, so a peer that can publish to this client's inbox cannot fake a store
// and make events leave the spool unstored. Pure: no I/O.
import type { MsgHdrs } from '@nats-io/nats-core';

/**
 * The acknowledgement nats-server writes for a stored message, to the letter:
 * `{"stream":"S","seq":N}`, with `"domain"` and `"duplicate":true` when they
 * apply; recognised without JSON.parse (one per event). N has at most 15
 * digits (a safe integer). Anything else goes through JSON.parse below.
 */
const PLAIN_ACK =
  /^\{"stream":"[^"\\]+","seq":[1-9]\d{0,14}(?:,"domain":"[^"\\]*")?(?:,"duplicate":true)?\}$/;
/** longer replies are never the plain form */
const PLAIN_ACK_MAX = 256;

/** Why a reply is not an acknowledgement of a stored message; undefined when it is one. */
export function ackProblem(headers: MsgHdrs | undefined, data: Uint8Array): string | undefined {
  if (headers?.hasError) return `${headers.code} ${headers.description}`;
  if (data.length === 0) return 'empty acknowledgement';
  if (
    data.length <= PLAIN_ACK_MAX &&
    PLAIN_ACK.test(Buffer.from(data.buffer, data.byteOffset, data.length).toString('latin1'))
  )
    return undefined;
  let ack: unknown;
  try {
    ack = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8'));
  } catch {
    return 'not a JetStream acknowledgement (not JSON)';
  }
  if (typeof ack !== 'object' || ack === null || Array.isArray(ack))
    return 'not a JetStream acknowledgement (not an object)';
  const a = ack as { error?: { code?: unknown; description?: unknown }; stream?: unknown; seq?: unknown };
  if (a.error !== undefined)
    return `JetStream error ${String(a.error?.code ?? '')} ${String(a.error?.description ?? '')}`.trim();
  if (
    typeof a.stream !== 'string' ||
    a.stream === '' ||
    !Number.isSafeInteger(a.seq) ||
    (a.seq as number) < 1
  )
    return 'not a JetStream acknowledgement (no stream and sequence)';
  return undefined;
}
