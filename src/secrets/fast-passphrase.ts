// The common case of a passphrase file, decrypted with Node's own crypto: one
// or more SKESK v4 packets with an iterated and salted S2K (RFC 4880 §3.7.1.3)
// and a SEIPD v1 (MDC) packet, as odp (openpgp.js) and `gpg --symmetric` write
// them. The key derivation is the cost of such a file by design; hashed here in
// large native updates it takes about half of openpgp.js's time, and OpenPGP
// itself (1.2 MB of JavaScript) is not loaded at all. Anything else (another
// S2K, AEAD, a PKESK packet beside it, a wrong passphrase, a damaged file)
// returns undefined and the caller uses openpgp.js, which reports errors:
// correctness never depends on this.
import { createDecipheriv, createHash } from 'node:crypto';
import { packets, seipd } from './packet.js';

/** OpenPGP hash algorithm IDs → Node's names, with their output size. */
const HASHES: Record<number, [string, number]> = {
  2: ['sha1', 20],
  8: ['sha256', 32],
  9: ['sha384', 48],
  10: ['sha512', 64],
  11: ['sha224', 28],
};
/** AES-128/192/256: OpenPGP cipher IDs → key bytes. */
const KEY_BYTES: Record<number, number> = { 7: 16, 8: 24, 9: 32 };

export interface PassphraseParts {
  skesks: Buffer[];
  encrypted: Buffer;
}

/** The packets of a passphrase file in the plain case (SKESKs, then one SEIPD v1), read before asking for a passphrase. */
export function passphraseParts(data: Uint8Array): PassphraseParts | undefined {
  try {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const skesks: Buffer[] = [];
    let encrypted: Buffer | undefined;
    for (const { tag, body } of packets(buf)) {
      if (tag === 3 && !encrypted) skesks.push(body);
      else if (tag === 18 && !encrypted) encrypted = body;
      else return undefined;
    }
    if (skesks.length === 0 || !encrypted || encrypted[0] !== 1) return undefined;
    return { skesks, encrypted };
  } catch {
    return undefined;
  }
}

/** The plaintext, or undefined when it does not open this way (another S2K, a wrong passphrase, a damaged file). */
export function openWithPassphrase(parts: PassphraseParts, passphrase: string): Uint8Array | undefined {
  try {
    // Several SKESKs: several passphrases; the one that opens the data is ours.
    for (const body of parts.skesks) {
      const session = sessionKey(body, passphrase);
      const plain = session && seipd(parts.encrypted.subarray(1), session);
      if (plain) return plain;
    }
    return undefined;
  } catch {
    return undefined;
  }
}

function sessionKey(body: Buffer, passphrase: string): { algo: number; key: Buffer } | undefined {
  // Version 4, then the cipher and its S2K.
  if (body.length < 13 || body[0] !== 4) return undefined;
  const algo = body[1]!;
  const derived = iteratedS2k(body, passphrase);
  if (!derived) return undefined;
  const { key, keyBytes } = derived;
  const esk = body.subarray(13);
  if (esk.length === 0) return { algo, key };
  // The session key, encrypted with the derived key (CFB, zero IV): its algorithm, then the key.
  const d = createDecipheriv(`aes-${keyBytes * 8}-cfb`, key, Buffer.alloc(16));
  const plain = Buffer.concat([d.update(esk), d.final()]);
  const sessionAlgo = plain[0]!;
  if (KEY_BYTES[sessionAlgo] !== plain.length - 1) return undefined;
  return { algo: sessionAlgo, key: plain.subarray(1) };
}

/**
 * The key an AES cipher and its iterated and salted S2K give `passphrase`, read
 * where a SKESK v4 packet and a protected secret key both keep them: from
 * `b[1]`, the cipher, S2K type 3, hash, 8 bytes of salt, the coded count.
 * Undefined for another cipher, S2K or hash.
 */
export function iteratedS2k(b: Buffer, passphrase: string): { key: Buffer; keyBytes: number } | undefined {
  const keyBytes = KEY_BYTES[b[1]!];
  const hash = HASHES[b[3]!];
  if (b[2] !== 3 || !keyBytes || !hash || b.length < 13) return undefined;
  const c = b[12]!;
  const count = (16 + (c & 15)) << ((c >> 4) + 6);
  const key = s2k(hash, keyBytes, Buffer.concat([b.subarray(4, 12), Buffer.from(passphrase, 'utf8')]), count);
  return { key, keyBytes };
}

/** Iterated and salted S2K: `count` bytes of salt‖passphrase repeated (at least one whole copy), hashed. */
function s2k([name, size]: [string, number], keyBytes: number, sp: Buffer, count: number): Buffer {
  const total = Math.max(count, sp.length);
  // About 64 KiB of whole copies, so the hash runs in few native calls.
  const block = Buffer.concat(Array.from({ length: Math.max(1, Math.floor(65536 / sp.length)) }, () => sp));
  const out: Buffer[] = [];
  // A key longer than the hash takes more contexts, each preloaded with one more zero byte.
  for (let i = 0; out.length * size < keyBytes; i++) {
    const h = createHash(name).update(Buffer.alloc(i));
    let left = total;
    while (left >= block.length) {
      h.update(block);
      left -= block.length;
    }
    h.update(block.subarray(0, left));
    out.push(h.digest());
  }
  return Buffer.concat(out).subarray(0, keyBytes);
}
