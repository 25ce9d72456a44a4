// The common case of recipients mode, decrypted with Node's own crypto: a
// Curve25519 (ECDH, RFC 6637) recipient and a SEIPD v1 (MDC) packet, as odp and
// gpg both write them. openpgp.js does the same in about 5 ms a file (async
// WebCrypto round trips, a key import per message, its stream machinery);
// this takes a fraction of a millisecond, which is what a check of 1,000
// projects needs. Anything else (RSA, AEAD, signatures, bzip2…) returns
// undefined and the caller uses openpgp.js: correctness never depends on this.
// The keys come from openpgp.js (fastKeys) or, without loading it, straight
// from the key file (fast-key.ts).
import {
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
} from 'node:crypto';
import type * as openpgp from 'openpgp';
import { packets, seipd } from './packet.js';

export interface FastKey {
  keyId: string;
  /** RFC 6637 KDF parameters: curve OID, algorithm, KDF params, "Anonymous Sender", fingerprint. */
  param: Buffer;
  kdfHash: string;
  wrapBits: number;
  privateKey: KeyObject;
}

/** OpenPGP's public-key algorithm ID of ECDH (RFC 6637). */
export const ECDH = 18;
/** The legacy Curve25519 OID (1.3.6.1.4.1.3029.1.5.1), hex, as gpg's cv25519 subkeys carry it. */
export const CURVE25519_OID = '2b060104019755010501';
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
      if (p.algorithm !== ECDH || !oid || !Q || !kdfParams || !d) continue;
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
        Buffer.from([ECDH]),
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
  if (body[0] !== 3 || body[9] !== ECDH) return undefined;
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

export { startsWithPkesk } from './packet.js';
