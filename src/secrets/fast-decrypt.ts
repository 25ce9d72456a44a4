// The common case of recipients mode, decrypted with Node's own crypto: a
// Curve25519 (ECDH, RFC 6637) recipient and a SEIPD v1 (MDC) packet, as odp and
// gpg both write them. openpgp.js does the same in about 5 ms a file (async
// WebCrypto round trips, a key import per message, its stream machinery);
// this takes a fraction of a millisecond, which is what a check of 1,000
// projects needs. Anything else (RSA, AEAD, signatures, bzip2…) returns
// undefined and the caller uses openpgp.js: correctness never depends on this.
import {
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { inflateRawSync, inflateSync } from 'node:zlib';
import * as openpgp from 'openpgp';

export interface FastKey {
  keyId: string;
  /** RFC 6637 KDF parameters: curve OID, algorithm, KDF params, "Anonymous Sender", fingerprint. */
  param: Buffer;
  kdfHash: string;
  wrapBits: number;
  privateKey: KeyObject;
}

const CURVE25519_OID = '2b060104019755010501';
const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** The Curve25519 decryption subkeys of unlocked keys, ready for Node's crypto (built once per run). */
export function fastKeys(keys: openpgp.PrivateKey[]): FastKey[] {
  const out: FastKey[] = [];
  for (const k of keys) {
    for (const part of [k, ...k.subkeys]) {
      // openpgp's packet fields are not in its public typings.
      const p = part.keyPacket as unknown as {
        algorithm: number;
        publicParams: {
          oid?: { write(): Uint8Array; toHex(): string };
          Q?: Uint8Array;
          kdfParams?: KdfParams;
        };
        privateParams?: { d?: Uint8Array };
        getFingerprintBytes(): Uint8Array;
        isDecrypted(): boolean;
      };
      const { oid, Q, kdfParams } = p.publicParams;
      const d = p.privateParams?.d;
      if (p.algorithm !== openpgp.enums.publicKey.ecdh || !oid || !Q || !kdfParams || !d) continue;
      if (!p.isDecrypted() || oid.toHex() !== CURVE25519_OID || Q[0] !== 0x40 || d.length !== 32) continue;
      const hash = { 8: 'sha256', 9: 'sha384', 10: 'sha512' }[kdfParams.hash];
      const wrapBits = { 7: 128, 8: 192, 9: 256 }[kdfParams.cipher];
      if (!hash || !wrapBits) continue;
      const privateKey = createPrivateKey({
        // OpenPGP stores the scalar big-endian; X25519 wants it little-endian.
        key: { kty: 'OKP', crv: 'X25519', d: b64url(d.slice().reverse()), x: b64url(Q.subarray(1)) },
        format: 'jwk',
      });
      const param = Buffer.concat([
        oid.write(),
        Buffer.from([openpgp.enums.publicKey.ecdh]),
        kdfParams.write(),
        Buffer.from('Anonymous Sender    ', 'latin1'),
        p.getFingerprintBytes(),
      ]);
      out.push({ keyId: part.getKeyID().toHex(), param, kdfHash: hash, wrapBits, privateKey });
    }
  }
  return out;
}

interface KdfParams {
  hash: number;
  cipher: number;
  write(): Uint8Array;
}

/** The plaintext, or undefined when the message is not the plain case handled here (or does not verify). */
export function fastDecrypt(data: Uint8Array, keys: readonly FastKey[]): Uint8Array | undefined {
  try {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let session: { algo: number; key: Buffer } | undefined;
    let encrypted: Buffer | undefined;
    for (const { tag, body } of packets(buf)) {
      if (tag === 1 && !session) session = sessionKey(body, keys);
      else if (tag === 18) encrypted = body;
      else if (tag !== 1) return undefined;
    }
    if (!session || !encrypted || encrypted[0] !== 1) return undefined;
    return seipd(encrypted.subarray(1), session);
  } catch {
    return undefined;
  }
}

function sessionKey(body: Buffer, keys: readonly FastKey[]): { algo: number; key: Buffer } | undefined {
  if (body[0] !== 3 || body[9] !== openpgp.enums.publicKey.ecdh) return undefined;
  const key = keys.find((k) => k.keyId === body.subarray(1, 9).toString('hex'));
  if (!key) return undefined;
  const vBits = body.readUInt16BE(10);
  const v = body.subarray(12, 12 + ((vBits + 7) >> 3));
  if (v.length !== 33 || v[0] !== 0x40) return undefined;
  const cLen = body[12 + v.length]!;
  const c = body.subarray(13 + v.length, 13 + v.length + cLen);
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: b64url(v.subarray(1)) },
    format: 'jwk',
  });
  const shared = diffieHellman({ privateKey: key.privateKey, publicKey });
  const z = createHash(key.kdfHash)
    .update(Buffer.from([0, 0, 0, 1]))
    .update(shared)
    .update(key.param)
    .digest()
    .subarray(0, key.wrapBits / 8);
  const unwrap = createDecipheriv(`id-aes${key.wrapBits}-wrap`, z, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
  const m = Buffer.concat([unwrap.update(c), unwrap.final()]);
  const pad = m[m.length - 1]!;
  const plain = m.subarray(0, m.length - pad);
  const sk = plain.subarray(1, plain.length - 2);
  let sum = 0;
  for (const b of sk) sum = (sum + b) & 0xffff;
  if (sum !== plain.readUInt16BE(plain.length - 2)) return undefined;
  return { algo: plain[0]!, key: Buffer.from(sk) };
}

function seipd(ct: Buffer, s: { algo: number; key: Buffer }): Uint8Array | undefined {
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
function* packets(buf: Buffer): Generator<{ tag: number; body: Buffer }> {
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

export { startsWithPkesk } from './packet.js';
