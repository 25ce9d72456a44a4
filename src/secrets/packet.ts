// OpenPGP packets read with Node's own crypto, without loading OpenPGP: the first
// packet of a secrets file tells its mode (`odp check` decides from it whether a
// passphrase or a private key is needed at all), and the fast paths of both
// modes (fast-decrypt.ts, fast-passphrase.ts) share the SEIPD v1 decryption.
import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { inflateRawSync, inflateSync } from 'node:zlib';

/** True when the file starts with a PKESK packet (binary): a recipients file worth the fast path. */
export function startsWithPkesk(data: Uint8Array): boolean {
  const h = data[0];
  if (h === undefined || (h & 0x80) === 0) return false;
  return (h & 0x40 ? h & 0x3f : (h >> 2) & 0x0f) === 1;
}

/** A SEIPD v1 (MDC) packet's body after its version byte, decrypted with the session key: the literal data, or undefined. */
export function seipd(ct: Buffer, s: { algo: number; key: Buffer }): Uint8Array | undefined {
  const bits = { 7: 128, 8: 192, 9: 256 }[s.algo];
  if (!bits || s.key.length !== bits / 8) return undefined;
  const d = createDecipheriv(`aes-${bits}-cfb`, s.key, Buffer.alloc(16));
  const p = Buffer.concat([d.update(ct), d.final()]);
  if (p.length < 16 + 2 + 22 || p[14] !== p[16] || p[15] !== p[17]) return undefined;
  const mdcAt = p.length - 22;
  if (p[mdcAt] !== 0xd3 || p[mdcAt + 1] !== 0x14) return undefined;
  const hash = createHash('sha1')
    .update(p.subarray(0, mdcAt + 2))
    .digest();
  if (!timingSafeEqual(hash, p.subarray(mdcAt + 2))) return undefined;
  return literal(p.subarray(18, mdcAt));
}

/** The data of the one literal packet, through at most one compressed packet (ZIP or ZLIB). */
function literal(inner: Buffer, depth = 0): Uint8Array | undefined {
  const all = [...packets(inner)];
  if (all.length !== 1) return undefined;
  const { tag, body } = all[0]!;
  if (tag === 11) {
    const nameLen = body[1]!;
    return body.subarray(2 + nameLen + 4);
  }
  if (tag === 8 && depth === 0) {
    const algo = body[0];
    const rest = body.subarray(1);
    const raw =
      algo === 0 ? rest : algo === 1 ? inflateRawSync(rest) : algo === 2 ? inflateSync(rest) : undefined;
    return raw && literal(raw, 1);
  }
  return undefined;
}

/** OpenPGP packets (RFC 4880 §4.2): new and old headers, partial body lengths joined. */
export function* packets(buf: Buffer): Generator<{ tag: number; body: Buffer }> {
  let i = 0;
  while (i < buf.length) {
    const h = buf[i++]!;
    if ((h & 0x80) === 0) throw new Error('not a packet');
    if (h & 0x40) {
      const tag = h & 0x3f;
      const parts: Buffer[] = [];
      for (;;) {
        const o = buf[i++]!;
        let len: number;
        let partial = false;
        if (o < 192) len = o;
        else if (o < 224) len = ((o - 192) << 8) + buf[i++]! + 192;
        else if (o === 255) {
          len = buf.readUInt32BE(i);
          i += 4;
        } else {
          len = 1 << (o & 0x1f);
          partial = true;
        }
        if (i + len > buf.length) throw new Error('truncated');
        parts.push(buf.subarray(i, i + len));
        i += len;
        if (!partial) break;
      }
      yield { tag, body: parts.length === 1 ? parts[0]! : Buffer.concat(parts) };
    } else {
      const tag = (h >> 2) & 0x0f;
      const lt = h & 3;
      let len: number;
      if (lt === 0) len = buf[i++]!;
      else if (lt === 1) {
        len = buf.readUInt16BE(i);
        i += 2;
      } else if (lt === 2) {
        len = buf.readUInt32BE(i);
        i += 4;
      } else len = buf.length - i;
      if (i + len > buf.length) throw new Error('truncated');
      yield { tag, body: buf.subarray(i, i + len) };
      i += len;
    }
  }
}
