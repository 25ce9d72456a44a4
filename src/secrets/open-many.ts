// Opening many secrets files in one go (`odp check` reads every project's). The
// way a file is opened is an Opener: a passphrase costs one key derivation per
// file, while recipients mode unlocks one private key up front and then opens
// each file cheaply. Either way the loop, its bound and its error order are
// this one, so a thousand files cost what their opener costs and nothing more.
import { readFileSync } from 'node:fs';
import { OdpError } from '../errors.js';
import type { Secret } from '../secret.js';
import { parseEnvFile } from './envfile.js';

/** Decrypts one file's bytes to its text; `file` names it in errors. */
export type Opener = (data: Uint8Array, file: string) => Promise<string>;

export interface SecretsFileRef {
  /** What the result is keyed by (a project name). */
  key: string;
  path: string;
  /** The path as shown to the user. */
  file: string;
}

/**
 * Every file's secrets, keyed as given. At most `concurrency` files are open at a
 * time (each read synchronously, then decrypted), so memory stays bounded. When
 * some fail, the first failing file in the given order is the error, as if
 * they had been read one by one.
 */
export async function openMany(
  files: readonly SecretsFileRef[],
  open: Opener,
  concurrency = 4,
): Promise<Map<string, Map<string, Secret>>> {
  const results: (Map<string, Secret> | { error: unknown })[] = new Array(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < files.length; i = next++) {
      const f = files[i]!;
      try {
        results[i] = parseEnvFile(await open(readBytes(f), f.file), f.file);
      } catch (error) {
        results[i] = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  const out = new Map<string, Map<string, Secret>>();
  files.forEach((f, i) => {
    const r = results[i]!;
    if (!(r instanceof Map)) throw r.error;
    out.set(f.key, r);
  });
  return out;
}

/** Synchronous: a promise read is four thread-pool round trips, more than a small file's decryption. */
function readBytes(f: SecretsFileRef): Uint8Array {
  try {
    return readFileSync(f.path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new OdpError('NOT_FOUND', `no secrets file ${f.file}`, { cause: e });
    }
    throw e;
  }
}
