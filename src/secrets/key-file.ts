// Where recipients mode's private key comes from: `--key-file` or ODP_KEY_FILE
// (an armored OpenPGP private key, as `gpg --export-secret-keys --armor` writes
// it), its passphrase from ODP_KEY_PASSPHRASE or a prompt, asked once per key
// file and process whichever code unlocks it (fast-key.ts, private-key.ts).
// Light: no OpenPGP here.
import { resolve } from 'node:path';
import { OdpError } from '../errors.js';
import { askHidden } from './passphrase.js';

export const KEY_FILE_ENV = 'ODP_KEY_FILE';
export const KEY_PASSPHRASE_ENV = 'ODP_KEY_PASSPHRASE';
export const KEY_HINT =
  'Point ODP_KEY_FILE (or --key-file) at your armored private key (`gpg --export-secret-keys --armor YOU > key.asc`); its passphrase comes from ODP_KEY_PASSPHRASE or a prompt.';

/** The key file to use, or undefined when none is configured. */
export function keyFileFrom(flag: string | undefined): string | undefined {
  return flag || process.env[KEY_FILE_ENV] || undefined;
}

const asked = new Map<string, Promise<string>>();

/**
 * The passphrase of the locked key in `file` (`shown` names it in the prompt):
 * ODP_KEY_PASSPHRASE, else a prompt, kept for this process until forgotten
 * (forgetKeyPassphrase, after it turned out wrong). SECRETS_NO_KEY without one.
 */
export function keyPassphrase(file: string, shown: string): Promise<string> {
  const path = resolve(file);
  let p = asked.get(path);
  if (!p) {
    p = (async () => {
      const passphrase =
        process.env[KEY_PASSPHRASE_ENV] || (await askHidden(`Passphrase of the key ${shown}: `));
      if (!passphrase) {
        throw new OdpError('SECRETS_NO_KEY', `the key in ${shown} is locked and no passphrase was given`, {
          hint: `Set ${KEY_PASSPHRASE_ENV}, or run on a terminal to be prompted.`,
        });
      }
      return passphrase;
    })();
    asked.set(path, p);
    p.catch(() => asked.delete(path)); // not given: the next call asks again
  }
  return p;
}

/** Forgets a wrong passphrase: the next unlock asks again. */
export function forgetKeyPassphrase(file: string): void {
  asked.delete(resolve(file));
}
