// Recipients mode's private key unlocked with Node's own crypto (docs/decisions/0054):
// the Curve25519 ECDH subkeys (cv25519, RFC 6637) of an armored v4 key, protected
// as gpg and openpgp.js protect them (S2K usage 254: iterated and salted S2K,
// AES-CFB, a SHA-1 check) or not at all. With these keys fast-decrypt.ts opens
// every file, and OpenPGP (1.2 MB of JavaScript, with a slower key derivation) is
// not loaded at all. Anything else (RSA, a smartcard stub, Argon2, AEAD
// protection, a damaged file, a wrong passphrase) gives undefined and the caller
// unlocks the key with openpgp.js (private-key.ts), which reports errors, with the
// passphrase already given (key-file.ts): correctness never depends on this.
import { createDecipheriv, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CURVE25519_OID, ECDH, type FastKey } from './fast-decrypt.js';
import { iteratedS2k } from './fast-passphrase.js';
import { keyPassphrase } from './key-file.js';
import { packets } from './packet.js';

const unlocked = new Map<string, Promise<FastKey[] | undefined>>();

/**
 * The decryption keys of `file` for fast-decrypt.ts, unlocked at most once per
 * process; undefined when this path does not handle the key. A passphrase that
 * cannot be had fails as it would through openpgp.js (SECRETS_NO_KEY).
 */
export function fastPrivateKeys(file: string): Promise<FastKey[] | undefined> {
  const path = resolve(file);
  let keys = unlocked.get(path);
  if (!keys) {
    keys = unlock(path, file);
    unlocked.set(path, keys);
    keys.catch(() => unlocked.delete(path)); // not cached: the next call asks again
  }
  return keys;
}

interface Sealed {
  key: Omit<FastKey, 'privateKey'>;
  /** X25519's public key, to check the secret against. */
  x: Buffer;
  /** The secret part: S2K usage onwards. */
  secret: Buffer;
}

async function unlock(path: string, shown: string): Promise<FastKey[] | undefined> {
  let sealed: Sealed[];
  try {
    const binary = dearmor(await readFile(path, 'latin1'));
    if (!binary) return undefined;
    sealed = [];
    for (const { tag, body } of packets(binary)) {
      if (tag !== 5 && tag !== 7) continue; // secret key and subkey packets
      const s = readSecretKey(body);
      if (s === null) return undefined; // a decryption subkey this path does not know
      if (s) sealed.push(s);
    }
  } catch {
    return undefined;
  }
  if (sealed.length === 0) return undefined;
  // Decided before asking: every key here is one this path opens.
  const passphrase = sealed.some((s) => s.secret[0] !== 0) ? await keyPassphrase(path, shown) : '';
  const out: FastKey[] = [];
  for (const s of sealed) {
    const d = openSecret(s.secret, passphrase);
    const privateKey = d && x25519(d, s.x);
    if (!privateKey) return undefined; // a wrong passphrase, or damage: openpgp.js says which
    out.push({ ...s.key, privateKey });
  }
  return out;
}

/**
 * An ECDH Curve25519 key packet (v4) ready to unlock; undefined for a key of
 * another kind (a signing primary key, say); null for an ECDH key this path
 * cannot handle.
 */
function readSecretKey(body: Buffer): Sealed | undefined | null {
  if (body[0] !== 4) return null;
  if (body[5] !== ECDH) return undefined;
  let i = 6;
  const oidLen = body[i]!;
  const oid = body.subarray(i, i + 1 + oidLen); // with its length byte, as the KDF parameters take it
  i += 1 + oidLen;
  if (oid.subarray(1).toString('hex') !== CURVE25519_OID) return null;
  const qLen = (body.readUInt16BE(i) + 7) >> 3;
  const q = body.subarray(i + 2, i + 2 + qLen);
  i += 2 + qLen;
  if (q.length !== 33 || q[0] !== 0x40) return null;
  const kdf = body.subarray(i, i + 4); // length 3, reserved 1, hash, cipher
  i += 4;
  const kdfHash = { 8: 'sha256', 9: 'sha384', 10: 'sha512' }[kdf[2]!];
  const wrapBits = { 7: 128, 8: 192, 9: 256 }[kdf[3]!];
  if (kdf[0] !== 3 || kdf[1] !== 1 || !kdfHash || !wrapBits) return null;
  const publicBody = body.subarray(0, i);
  const header = Buffer.from([0x99, publicBody.length >> 8, publicBody.length & 0xff]);
  const fingerprint = createHash('sha1').update(header).update(publicBody).digest();
  const param = Buffer.concat([
    oid,
    Buffer.from([ECDH]),
    kdf,
    Buffer.from('Anonymous Sender    ', 'latin1'),
    fingerprint,
  ]);
  const keyId = fingerprint.subarray(12).toString('hex');
  return { key: { keyId, param, kdfHash, wrapBits }, x: q.subarray(1), secret: body.subarray(i) };
}

/** The secret scalar (big-endian, 32 bytes), or undefined when it does not open or check. */
function openSecret(secret: Buffer, passphrase: string): Buffer | undefined {
  const usage = secret[0];
  let plain: Buffer;
  if (usage === 0) {
    plain = secret.subarray(1);
    const mpi = readMpi(plain);
    if (!mpi || plain.length !== mpi.end + 2) return undefined;
    let sum = 0;
    for (const b of plain.subarray(0, mpi.end)) sum = (sum + b) & 0xffff;
    return sum === plain.readUInt16BE(mpi.end) ? mpi.value : undefined;
  }
  // 254: cipher, S2K type 3 (hash, 8 bytes of salt, count), IV; the MPI and its SHA-1, encrypted.
  if (usage !== 254) return undefined;
  const derived = iteratedS2k(secret, passphrase);
  if (!derived) return undefined;
  const { key, keyBytes } = derived;
  const iv = secret.subarray(13, 29);
  const d = createDecipheriv(`aes-${keyBytes * 8}-cfb`, key, iv);
  plain = Buffer.concat([d.update(secret.subarray(29)), d.final()]);
  const mpi = readMpi(plain);
  if (!mpi || plain.length !== mpi.end + 20) return undefined;
  const check = createHash('sha1').update(plain.subarray(0, mpi.end)).digest();
  return check.equals(plain.subarray(mpi.end)) ? mpi.value : undefined;
}

function readMpi(b: Buffer): { value: Buffer; end: number } | undefined {
  if (b.length < 2) return undefined;
  const len = (b.readUInt16BE(0) + 7) >> 3;
  if (len > 32 || b.length < 2 + len) return undefined;
  // Leading zero bytes are not stored: pad back to 32.
  const value = Buffer.concat([Buffer.alloc(32 - len), b.subarray(2, 2 + len)]);
  return { value, end: 2 + len };
}

/** The X25519 key of scalar `d` (OpenPGP stores it big-endian), if its public key is `x`. */
function x25519(d: Buffer, x: Buffer) {
  const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  try {
    const privateKey = createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', d: b64url(Buffer.from(d).reverse()), x: b64url(x) },
      format: 'jwk',
    });
    const derived = createPublicKey(privateKey).export({ format: 'jwk' }).x;
    return derived === b64url(x) ? privateKey : undefined;
  } catch {
    return undefined;
  }
}

/** The binary of the first armored private key block, its CRC-24 checked when present. */
function dearmor(text: string): Buffer | undefined {
  const m = /-----BEGIN PGP PRIVATE KEY BLOCK-----\r?\n([\s\S]*?)-----END PGP PRIVATE KEY BLOCK-----/.exec(
    text,
  );
  if (!m) return undefined;
  const lines = m[1]!.split(/\r?\n/).map((l) => l.trim());
  const blank = lines.indexOf('');
  if (blank === -1) return undefined;
  let data = '';
  let crc: string | undefined;
  for (const line of lines.slice(blank + 1)) {
    if (line.startsWith('=')) {
      crc = line.slice(1);
      break;
    }
    data += line;
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return undefined;
  const binary = Buffer.from(data, 'base64');
  if (crc !== undefined && Buffer.from(crc, 'base64').readUIntBE(0, 3) !== crc24(binary)) return undefined;
  return binary;
}

function crc24(b: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of b) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}
