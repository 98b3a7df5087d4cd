// bg_net_rules (LPM_TRIE) keys: connect and bind.
// Grammar, 28 bytes, little-endian:
//
//   net_key := prefixlen:u32   64 + CIDR bits: the 8 bytes below, then the address prefix
//              gen:u8 slot:u8
//              kind:u8         connect 10, bind 11
//              proto:u8        0 any, IPPROTO_TCP 6, IPPROTO_UDP 17
//              port:u16        host byte order; 0 = any port
//              family:u8       4 or 6
//              pad:u8          0
//              addr:u8[16]     network byte order; IPv4 in addr[0..3]; host bits zero
//
// A port range is one entry per port. The kernel looks up (proto, port),
// (proto, 0), (0, port), (0, 0).
import { Size } from '../layout.ts';
import { ByteWriter } from './bytes.ts';

export interface NetKey {
  gen: number;
  slot: number;
  kind: number;
  proto: number;
  port: number;
  family: 4 | 6;
  address: Uint8Array;
  bits: number;
}

/** The address with every bit after `bits` cleared. */
export function maskAddress(address: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(address.length);
  for (let i = 0; i < address.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    out[i] = (address[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

export function encodeNetKey(k: NetKey): string {
  const len = k.family === 4 ? 4 : 16;
  if (k.address.length !== len) throw new RangeError(`IPv${k.family} address of ${k.address.length} bytes`);
  if (k.bits < 0 || k.bits > 8 * len) throw new RangeError(`prefix /${k.bits} for IPv${k.family}`);
  return new ByteWriter(Size.netKey)
    .u32(64 + k.bits)
    .u8(k.gen)
    .u8(k.slot)
    .u8(k.kind)
    .u8(k.proto)
    .u16(k.port)
    .u8(k.family)
    .u8(0)
    .bytes(maskAddress(k.address, k.bits), 16)
    .hex();
}
