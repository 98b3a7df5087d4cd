// The NATS protocol frame of one JetStream publish, written by hand: an
// `HPUB <subject> <reply> <header bytes> <total bytes>` line, a header block
// holding only Nats-Msg-Id, the payload. The sink joins a batch of frames
// into one buffer and one socket write, instead of nats.js building a header
// object, an encoded header block, a protocol line and four buffers for every
// message; and the nats.js handler those buffers go to.
import type { NatsConnection } from '@nats-io/transport-node';

/** Why a frame cannot be written (the event is not sent; the sink treats it as a failed publish). */
export class FrameError extends Error {}

/** Subjects and reply subjects: no white space, not empty (the protocol line is split on spaces). */
const TOKEN = /^[^\s]+$/;
/** A header value: printable ASCII, no CR or LF (a line break would add headers of its own). */
const HEADER_VALUE = /^[\x21-\x7e]+$/;

/**
 * The frame as text. `maxPayload`: the server's max_payload (headers and
 * payload together); a larger message is refused here, as the server would.
 */
export function hpubFrame(
  subject: string,
  reply: string,
  msgId: string,
  payload: string,
  maxPayload: number,
): string {
  if (!TOKEN.test(subject)) throw new FrameError(`invalid subject ${JSON.stringify(subject)}`);
  if (!TOKEN.test(reply)) throw new FrameError(`invalid reply subject ${JSON.stringify(reply)}`);
  if (!HEADER_VALUE.test(msgId)) throw new FrameError(`invalid Nats-Msg-Id ${JSON.stringify(msgId)}`);
  const header = `NATS/1.0\r\nNats-Msg-Id: ${msgId}\r\n\r\n`;
  // the header is ASCII: its length in characters is its length in bytes
  const total = header.length + Buffer.byteLength(payload, 'utf8');
  if (total > maxPayload) throw new FrameError(`message of ${total} bytes exceeds max_payload ${maxPayload}`);
  return `HPUB ${subject} ${reply} ${header.length} ${total}\r\n${header}${payload}\r\n`;
}

/** the server's max_payload before its INFO says otherwise (nats-server's default) */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * nats.js's protocol handler (NatsConnectionImpl.protocol, exported by
 * @nats-io/nats-core/internal): the JetStream publisher hands it whole
 * batches of frames (./frame.ts). Null when the connection has no such
 * handler: the sink then publishes through nats.js a message at a time.
 */
export interface RawProtocol {
  info?: { max_payload: number; headers?: boolean };
  noMorePublishing: boolean;
  outMsgs: number;
  outBytes: number;
  sendCommand(cmd: Uint8Array): void;
}

export function rawProtocol(nc: NatsConnection): RawProtocol | null {
  const p = (nc as unknown as { protocol?: Partial<RawProtocol> }).protocol;
  return p && typeof p.sendCommand === 'function' && typeof p.outMsgs === 'number'
    ? (p as RawProtocol)
    : null;
}
