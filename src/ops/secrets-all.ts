// Every project's secrets at once, for `odp check`: the passphrase is asked
// once, and OpenPGP is loaded only when there is something to decrypt with,
// so a check without a passphrase does not pay for it.
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { isOdpError } from '../errors.js';
import { secretsFile } from '../platformdir/load.js';
import type { Secret } from '../secret.js';
import { openMany, type Opener } from '../secrets/open-many.js';
import { getPassphrase } from '../secrets/passphrase.js';

const show = (p: string) => relative(process.cwd(), p) || p;

/**
 * The secrets of `projects`, or undefined when they cannot all be had: a
 * project without a secrets file, or no passphrase at hand (no flag, no
 * ODP_PASSPHRASE, no terminal). A wrong passphrase or a damaged file fails.
 */
export async function loadAllProjectSecrets(
  dir: string,
  projects: readonly string[],
  opts: { passphraseFile?: string; concurrency?: number },
): Promise<Map<string, ReadonlyMap<string, Secret>> | undefined> {
  const files = projects.map((key) => {
    const path = secretsFile(dir, key);
    return { key, path, file: show(path) };
  });
  if (files.some((f) => !existsSync(f.path))) return undefined;
  if (files.length === 0) return new Map();
  const open = await secretsOpener(
    opts,
    files.length === 1 ? files[0]!.file : `${files.length} secrets files`,
  );
  if (!open) return undefined;
  return openMany(files, open, opts.concurrency);
}

/**
 * How this run opens secrets files; undefined without a passphrase. This is
 * where a way of opening them that unlocks a key once (recipients mode) plugs in.
 */
export async function secretsOpener(
  opts: { passphraseFile?: string },
  purpose: string,
): Promise<Opener | undefined> {
  let passphrase: string;
  try {
    passphrase = await getPassphrase({ passphraseFile: opts.passphraseFile, purpose });
  } catch (e) {
    if (isOdpError(e) && e.code === 'SECRETS_NO_PASSPHRASE') return undefined;
    throw e;
  }
  const { decryptText } = await import('../secrets/crypto.js');
  return (data, file) => decryptText(data, passphrase, file);
}
