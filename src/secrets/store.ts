// A project's secrets file on disk: an encrypted env file. Reading decrypts
// and parses; writing serialises and encrypts first, so a failure at any step
// before the atomic rename leaves the file exactly as it was.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { OdpError } from '../errors.js';
import { writeFileAtomic } from '../platformdir/atomic-write.js';
import type { Secret } from '../secret.js';
import { decryptText, encryptText } from './crypto.js';
import { formatEnvFile, parseEnvFile } from './envfile.js';

export function secretsExist(path: string): boolean {
  return existsSync(path);
}

/** The raw (encrypted) bytes, or NOT_FOUND with a hint on how to create the file. */
export async function readSecretsBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new OdpError('NOT_FOUND', `no secrets file ${path}`, {
        hint: 'Create it with `odp secrets set PROJECT KEY --stdin` or `odp secrets edit PROJECT`.',
      });
    }
    throw e;
  }
}

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

export async function writeSecrets(
  path: string,
  values: ReadonlyMap<string, Secret>,
  passphrase: string,
): Promise<void> {
  const data = await encryptText(formatEnvFile(values), passphrase);
  await writeFileAtomic(path, data, { mode: 0o600 });
}
