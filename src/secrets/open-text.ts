// The plain text of one secrets file, whichever its mode, by the cheapest way
// that opens it: a passphrase file in the plain case through Node's crypto
// (fast-passphrase.ts), without loading OpenPGP; anything else, and anything
// that does not open that way, through openpgp.js (lock.ts, crypto.ts), which
// reports what is wrong. What `odp check` opens a thousand of.
import { openWithPassphrase, passphraseParts } from './fast-passphrase.js';
import type { KeySource } from './lock.js';
import { getPassphrase } from './passphrase.js';

export async function openText(data: Uint8Array, file: string, src: KeySource): Promise<string> {
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
