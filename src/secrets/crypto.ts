// Passphrase-encrypted OpenPGP messages, byte-compatible with
// `gpg --symmetric --cipher-algo AES256` both ways, so a secrets file can still
// be opened by hand with plain gpg when odp is not at hand. Errors never
// contain the passphrase or any plaintext.
import * as openpgp from 'openpgp';
import { OdpError } from '../errors.js';
import { PASSPHRASE_HINT } from './passphrase.js';

// Only what GnuPG 2.2 (still the Debian default) reads: a v4 SKESK and a
// SEIPD v1 (MDC) packet; GnuPG 2.2 cannot read AEAD (SEIPD v2) or Argon2 S2K.
const config: openpgp.PartialConfig = {
  preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes256,
  aeadProtect: false,
  s2kType: openpgp.enums.s2k.iterated,
  preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed,
};

export async function encryptText(plain: string, passphrase: string): Promise<Uint8Array> {
  // A binary literal keeps the bytes exact: text mode may rewrite line endings.
  const message = await openpgp.createMessage({ binary: new TextEncoder().encode(plain), format: 'binary' });
  return openpgp.encrypt({ message, passwords: [passphrase], format: 'binary', config });
}

export async function decryptText(data: Uint8Array, passphrase: string, file: string): Promise<string> {
  const message = await readAny(data, file);
  if (message.packets.filterByTag(openpgp.enums.packet.symEncryptedSessionKey).length === 0) {
    throw new OdpError('SECRETS_INVALID', `${file} is not encrypted with a passphrase`, {
      hint: 'odp reads files made by `gpg --symmetric` (or written by odp itself).',
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
      hint: `${PASSPHRASE_HINT} (If the passphrase is right, the file may be damaged: restore it from git.)`,
      cause: scrub(e),
    });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    throw new OdpError('SECRETS_INVALID', `${file} does not decrypt to UTF-8 text`);
  }
}

async function readAny(data: Uint8Array, file: string): Promise<openpgp.Message<Uint8Array | string>> {
  const head = new TextDecoder().decode(data.subarray(0, 64)).trimStart();
  try {
    if (head.startsWith('-----BEGIN PGP')) {
      return await openpgp.readMessage({ armoredMessage: new TextDecoder().decode(data) });
    }
    return await openpgp.readMessage({ binaryMessage: data });
  } catch (e) {
    throw new OdpError('SECRETS_INVALID', `${file} is not an OpenPGP message`, {
      hint: 'Expected a file made by `gpg --symmetric` (binary or --armor), or written by odp.',
      cause: scrub(e),
    });
  }
}

/** Keeps the library's message for --debug, never its data: errors may be logged. */
function scrub(e: unknown): Error {
  return new Error(e instanceof Error ? e.message : 'openpgp error');
}
