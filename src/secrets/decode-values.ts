// Only the values of a secrets file, or of many: what render, deploy, check and
// serve need. Apart from lock.ts, which open-text.ts falls back to, so that the
// two do not import each other.
import type { Secret } from '../secret.js';
import { parseEnvFile } from './envfile.js';
import type { KeySource } from './lock.js';
import { openText } from './open-text.js';

/**
 * Only the values: what render, deploy and check need. Either kind of file takes
 * its fast path (Node's crypto) when it can, else the general one.
 */
export async function decodeValues(
  dir: string,
  data: Uint8Array,
  file: string,
  src: KeySource,
): Promise<Map<string, Secret>> {
  return parseEnvFile(await openText(data, file, src), file);
}

/**
 * Decrypts many recipients-mode files with one unlocked key: what `odp check`
 * and `odp serve` do for a whole platform. Files are opened a few at a time so
 * the asymmetric steps overlap on the thread pool.
 */
export async function decryptMany(
  dir: string,
  files: readonly { file: string; data: Uint8Array }[],
  src: KeySource,
  concurrency = 16,
): Promise<Map<string, Map<string, Secret>>> {
  const out = new Map<string, Map<string, Secret>>();
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const { file, data } = files[next++]!;
      out.set(file, await decodeValues(dir, data, file, src));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return out;
}
