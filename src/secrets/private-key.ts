// Where the private key of recipients mode comes from: `--key-file` or
// ODP_KEY_FILE (an armored OpenPGP private key, as `gpg --export-secret-keys
// --armor` writes it), its passphrase from ODP_KEY_PASSPHRASE or a prompt.
// The key is unlocked once per process and kept: unlocking runs the key's S2K
// (tens of milliseconds), decrypting a file with the unlocked key is cheap.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as openpgp from 'openpgp';
import { OdpError } from '../errors.js';
import { forgetKeyPassphrase, KEY_HINT, KEY_PASSPHRASE_ENV, keyPassphrase } from './key-file.js';

export { KEY_FILE_ENV, KEY_HINT, KEY_PASSPHRASE_ENV, keyFileFrom } from './key-file.js';

const unlocked = new Map<string, Promise<openpgp.PrivateKey[]>>();

/** The unlocked private keys of `file`, unlocked at most once per process. */
export function privateKeys(file: string): Promise<openpgp.PrivateKey[]> {
  const path = resolve(file);
  let keys = unlocked.get(path);
  if (!keys) {
    keys = unlock(path, file);
    unlocked.set(path, keys);
    keys.catch(() => unlocked.delete(path)); // a failure is not cached: the next call asks again
  }
  return keys;
}

async function unlock(path: string, shown: string): Promise<openpgp.PrivateKey[]> {
  let armored: string;
  try {
    armored = await readFile(path, 'utf8');
  } catch (e) {
    throw new OdpError('SECRETS_NO_KEY', `cannot read the key file ${shown}`, { hint: KEY_HINT, cause: e });
  }
  let keys: openpgp.PrivateKey[];
  try {
    keys = await openpgp.readPrivateKeys({ armoredKeys: armored });
  } catch {
    throw new OdpError('SECRETS_NO_KEY', `${shown} is not an armored OpenPGP private key`, {
      hint: KEY_HINT,
    });
  }
  const locked = keys.filter((k) => !k.isDecrypted());
  if (locked.length === 0) return keys;
  const passphrase = await keyPassphrase(path, shown);
  try {
    return await Promise.all(
      keys.map((k) => (k.isDecrypted() ? k : openpgp.decryptKey({ privateKey: k, passphrase }))),
    );
  } catch {
    forgetKeyPassphrase(path);
    throw new OdpError('SECRETS_BAD_PASSPHRASE', `wrong passphrase for the key in ${shown}`, {
      hint: process.env[KEY_PASSPHRASE_ENV]
        ? `The passphrase in ${KEY_PASSPHRASE_ENV} does not unlock it: check its value, or unset it to be asked.`
        : 'The passphrase typed does not unlock it: try again.',
    });
  }
}
