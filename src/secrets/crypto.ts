// OpenPGP secrets files, byte-compatible with gpg both ways, in two modes the
// file itself tells apart: a passphrase (`gpg --symmetric --cipher-algo
// AES256`: SKESK packets) or public keys (`gpg --encrypt -r A -r B`: one PKESK
// packet per recipient). Errors never contain a passphrase, a key or plaintext.
import * as openpgp from 'openpgp';
import { OdpError } from '../errors.js';
import { wrongPassphraseHint } from './passphrase.js';

// Only what GnuPG 2.2 (still the Debian default) reads: v4 SKESK/PKESK v3 and a
// SEIPD v1 (MDC) packet; GnuPG 2.2 cannot read AEAD (SEIPD v2) or Argon2 S2K.
const config: openpgp.PartialConfig = {
  preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes256,
  aeadProtect: false,
  s2kType: openpgp.enums.s2k.iterated,
  preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed,
};

export type SecretsMode = 'passphrase' | 'recipients';
export type PgpMessage = openpgp.Message<Uint8Array | string>;

export async function encryptText(plain: string, passphrase: string): Promise<Uint8Array> {
  return openpgp.encrypt({
    message: await literal(plain),
    passwords: [passphrase],
    format: 'binary',
    config,
  });
}

/** Encrypted to every key given (each reads it with its own private key, as with `gpg -r A -r B`). */
export async function encryptToKeys(plain: string, keys: openpgp.PublicKey[]): Promise<Uint8Array> {
  return openpgp.encrypt({ message: await literal(plain), encryptionKeys: keys, format: 'binary', config });
}

// A binary literal keeps the bytes exact: text mode may rewrite line endings.
const literal = (plain: string) =>
  openpgp.createMessage({ binary: new TextEncoder().encode(plain), format: 'binary' });

/** PKESK packets make a recipients file, SKESK packets a passphrase file; a file with both is read by key. */
export function messageMode(message: PgpMessage): SecretsMode | undefined {
  const { publicKeyEncryptedSessionKey: pk, symEncryptedSessionKey: sk } = openpgp.enums.packet;
  if (message.packets.filterByTag(pk).length > 0) return 'recipients';
  if (message.packets.filterByTag(sk).length > 0) return 'passphrase';
  return undefined;
}

/** The (sub)key IDs a recipients file is encrypted to, hex; `0000000000000000` for a hidden recipient. */
export function recipientKeyIds(message: PgpMessage): string[] {
  return message.getEncryptionKeyIDs().map((id) => id.toHex());
}

export async function decryptText(data: Uint8Array, passphrase: string, file: string): Promise<string> {
  return decryptWithPassphrase(await readMessage(data, file), passphrase, file);
}

export async function decryptWithPassphrase(
  message: PgpMessage,
  passphrase: string,
  file: string,
): Promise<string> {
  if (messageMode(message) !== 'passphrase') {
    throw new OdpError('SECRETS_INVALID', `${file} is not encrypted with a passphrase`, {
      hint: 'odp reads files made by `gpg --symmetric` or `gpg --encrypt -r KEY` (or written by odp itself).',
    });
  }
  let plain: Uint8Array;
  try {
    const result = await openpgp.decrypt({ message, passwords: [passphrase], format: 'binary' });
    plain = result.data;
  } catch (e) {
    // With a well-formed message, a failed decryption is the passphrase (or,
    // much more rarely, a damaged file: the MDC check cannot tell them apart).
    throw new OdpError('SECRETS_BAD_PASSPHRASE', `wrong passphrase for ${file}`, {
      hint: wrongPassphraseHint(),
      cause: scrub(e),
    });
  }
  return utf8(plain, file);
}

/**
 * Decrypts with whichever of `keys` the file is encrypted to (keys already
 * unlocked). The session key is recovered from the matching PKESK packet
 * directly: openpgp.decrypt with decryptionKeys re-verifies every self
 * signature of the key for each message, which costs more than the decryption.
 * The keys were checked once when they were unlocked.
 */
export async function decryptWithKeys(
  message: PgpMessage,
  keys: openpgp.PrivateKey[],
  file: string,
): Promise<string> {
  const index = keyIndex(keys);
  const pkesks = message.packets.filterByTag(
    openpgp.enums.packet.publicKeyEncryptedSessionKey,
  ) as unknown as Pkesk[];
  const hidden = (p: Pkesk) => p.publicKeyID.toHex() === '0000000000000000';
  const mine = pkesks.filter((p) => index.has(p.publicKeyID.toHex()));
  // A hidden recipient (gpg --throw-keyids) is all zeroes: every key is then worth a try.
  const tries: [Pkesk, unknown[]][] = mine.map((p) => [p, [index.get(p.publicKeyID.toHex())]]);
  if (tries.length === 0) for (const p of pkesks.filter(hidden)) tries.push([p, [...index.values()]]);
  if (tries.length === 0) {
    throw new OdpError('SECRETS_NOT_RECIPIENT', `${file} is not encrypted to your key`, {
      hint: `Ask someone listed by \`odp secrets recipients list\` to add your key (the file's recipients: ${recipientKeyIds(message).join(', ')}).`,
    });
  }
  let sessionKey: openpgp.SessionKey | undefined;
  for (const [p, candidates] of tries) {
    for (const k of candidates) {
      try {
        await p.decrypt(k);
        sessionKey = {
          data: p.sessionKey,
          algorithm: openpgp.enums.read(
            openpgp.enums.symmetric,
            p.sessionKeyAlgorithm,
          ) as openpgp.enums.symmetricNames,
        };
        break;
      } catch {
        // not this key (or a damaged packet): try the next one
      }
    }
    if (sessionKey) break;
  }
  if (!sessionKey) {
    throw new OdpError('SECRETS_INVALID', `${file} could not be decrypted with your key`, {
      hint: 'The file may be damaged: restore it from git.',
    });
  }
  let plain: Uint8Array;
  try {
    const result = await openpgp.decrypt({ message, sessionKeys: sessionKey, format: 'binary', config });
    plain = result.data;
  } catch (e) {
    throw new OdpError('SECRETS_INVALID', `${file} could not be decrypted with your key`, {
      hint: 'The file may be damaged: restore it from git.',
      cause: scrub(e),
    });
  }
  return utf8(plain, file);
}

/** The parts of openpgp's PKESK packet used here (its typings mark them private). */
interface Pkesk {
  publicKeyID: openpgp.KeyID;
  sessionKey: Uint8Array;
  sessionKeyAlgorithm: number;
  decrypt(key: unknown): Promise<void>;
}

const indexes = new WeakMap<openpgp.PrivateKey[], Map<string, unknown>>();

/** Key ID (hex) → the unlocked secret key packet, for the key and each subkey; built once per key set. */
function keyIndex(keys: openpgp.PrivateKey[]): Map<string, unknown> {
  let index = indexes.get(keys);
  if (!index) {
    index = new Map();
    for (const k of keys) {
      for (const part of [k, ...k.subkeys]) {
        if (part.keyPacket.isDecrypted()) index.set(part.getKeyID().toHex(), part.keyPacket);
      }
    }
    indexes.set(keys, index);
  }
  return index;
}

function utf8(plain: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    throw new OdpError('SECRETS_INVALID', `${file} does not decrypt to UTF-8 text`);
  }
}

export async function readMessage(data: Uint8Array, file: string): Promise<PgpMessage> {
  const head = new TextDecoder().decode(data.subarray(0, 64)).trimStart();
  try {
    if (head.startsWith('-----BEGIN PGP')) {
      return await openpgp.readMessage({ armoredMessage: new TextDecoder().decode(data) });
    }
    return await openpgp.readMessage({ binaryMessage: data });
  } catch (e) {
    throw new OdpError('SECRETS_INVALID', `${file} is not an OpenPGP message`, {
      hint: 'Expected a file made by `gpg --symmetric` or `gpg --encrypt` (binary or --armor), or written by odp.',
      cause: scrub(e),
    });
  }
}

/** Keeps the library's message for --debug, never its data: errors may be logged. */
export function scrub(e: unknown): Error {
  return new Error(e instanceof Error ? e.message : 'openpgp error');
}
