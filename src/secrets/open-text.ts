// The plain text of one secrets file, whichever its mode, by the cheapest way
// that opens it: in the plain cases through Node's crypto without loading
// OpenPGP (a passphrase file: fast-passphrase.ts; a recipients file with a
// Curve25519 key: fast-key.ts and fast-decrypt.ts); anything else, and anything
// that does not open that way, through openpgp.js (lock.ts, crypto.ts), which
// reports what is wrong. What `odp check` opens a thousand of.
import { fastDecrypt } from './fast-decrypt.js';
import { fastPrivateKeys } from './fast-key.js';
import { openWithPassphrase, passphraseParts } from './fast-passphrase.js';
import { keyFileFrom } from './key-file.js';
import type { KeySource } from './lock.js';
import { startsWithPkesk } from './packet.js';
import { getPassphrase } from './passphrase.js';

export async function openText(data: Uint8Array, file: string, src: KeySource): Promise<string> {
  const keyFile = startsWithPkesk(data) ? keyFileFrom(src.keyFile) : undefined;
  if (keyFile) {
    const keys = await fastPrivateKeys(keyFile);
    const plain = keys && fastDecrypt(data, keys);
    const text = plain && utf8(plain);
    if (text !== undefined) return text;
  }
  const parts = passphraseParts(data);
  if (!parts) {
    const { decodeText } = await import('./lock.js');
    return decodeText(data, file, src);
  }
  const passphrase = await getPassphrase({ passphraseFile: src.passphraseFile, purpose: file });
  const plain = openWithPassphrase(parts, passphrase);
  const text = plain && utf8(plain);
  if (text !== undefined) return text;
  // The same passphrase, not asked again: openpgp.js says why it does not open.
  const { decryptWithPassphrase, readMessage } = await import('./crypto.js');
  return decryptWithPassphrase(await readMessage(data, file), passphrase, file);
}

function utf8(b: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return undefined; // the general path reports it
  }
}
