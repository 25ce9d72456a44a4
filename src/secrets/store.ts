// A secrets file on disk: an encrypted env file. Reading decrypts and parses;
// writing serialises and encrypts first, so a failure at any step before the
// atomic rename leaves the file exactly as it was.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { OdpError } from '../errors.js';
import { writeFileAtomic } from '../platformdir/atomic-write.js';
import type { Secret } from '../secret.js';
import { decryptText, encryptText, encryptToKeys } from './crypto.js';
import { formatEnvFile, parseEnvFile } from './envfile.js';
import type { SecretsLock } from './lock.js';

export function secretsExist(path: string): boolean {
  return existsSync(path);
}

/** The raw (encrypted) bytes, or NOT_FOUND with a hint on how to create the file. */
export async function readSecretsBytes(
  path: string,
  hint = 'Create it with `odp secrets set PROJECT KEY --stdin` or `odp secrets edit PROJECT`.',
): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new OdpError('NOT_FOUND', `no secrets file ${path}`, { hint });
    }
    throw e;
  }
}

/** A passphrase file's values (for callers that only know passphrases; see lock.ts for both modes). */
export async function decodeSecrets(
  data: Uint8Array,
  passphrase: string,
  path: string,
): Promise<Map<string, Secret>> {
  return parseEnvFile(await decryptText(data, passphrase, path), path);
}

export async function readSecrets(path: string, passphrase: string): Promise<Map<string, Secret>> {
  return decodeSecrets(await readSecretsBytes(path), passphrase, path);
}

/** Encrypts under `lock` (a passphrase, or recipients' public keys) and replaces the file atomically. */
export async function writeSecrets(
  path: string,
  values: ReadonlyMap<string, Secret>,
  lock: string | SecretsLock,
): Promise<void> {
  await writeFileAtomic(path, await encryptWithLock(formatEnvFile(values), lock, path), { mode: 0o600 });
}

/**
 * Encrypts as the lock says: with the passphrase, or to every recipient (refused
 * when one has no public key at hand: it would silently lose access). `path`
 * names the file in errors.
 */
export async function encryptWithLock(
  text: string,
  lock: string | SecretsLock,
  path: string,
): Promise<Uint8Array> {
  if (typeof lock === 'string' || lock.mode === 'passphrase')
    return encryptText(text, typeof lock === 'string' ? lock : lock.passphrase);
  if (lock.unknown.length > 0) {
    throw new OdpError(
      'SECRETS_NO_KEY',
      `cannot re-encrypt ${path}: no public key for ${lock.unknown.join(', ')}`,
      {
        hint: 'Add the missing public keys to keys/ (`odp secrets recipients add … KEY.asc`), or remove those recipients.',
      },
    );
  }
  if (lock.keys.length === 0)
    throw new OdpError('USAGE', `${path} would have no recipient; nothing was written`);
  return encryptToKeys(text, lock.keys);
}
