// Every project's secrets at once, for `odp check`: the passphrase is asked
// once, and OpenPGP is loaded only for a private key or a file the fast paths
// decline, so a check without one, or of passphrase files, does not pay for it.
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { relative } from 'node:path';
import { isOdpError } from '../../errors.js';
import { secretsFile } from '../../platformdir/load.js';
import type { Secret } from '../../secret.js';
import { openMany, type Opener } from '../../secrets/open-many.js';
import { startsWithPkesk } from '../../secrets/packet.js';
import { getPassphrase, hasTerminal, holdPassphrase, passphraseAtHand } from '../../secrets/passphrase.js';

const show = (p: string) => relative(process.cwd(), p) || p;

/** Where the means to open files come from (see secrets/lock.ts). */
export interface AllSecretsOptions {
  passphraseFile?: string;
  keyFile?: string;
  concurrency?: number;
}

/**
 * The secrets of `projects`, or undefined when they cannot all be had: a
 * project without a secrets file, no passphrase at hand for passphrase files
 * (no flag, no ODP_PASSPHRASE, no terminal), or no private key for recipients
 * files. A wrong passphrase, a key that is not a recipient or a damaged file fails.
 */
export async function loadAllProjectSecrets(
  dir: string,
  projects: readonly string[],
  opts: AllSecretsOptions,
): Promise<Map<string, ReadonlyMap<string, Secret>> | undefined> {
  const files = projects.map((key) => {
    const path = secretsFile(dir, key);
    return { key, path, file: show(path) };
  });
  if (files.length === 0) return new Map();
  // Neither a passphrase nor a key to be had: whatever the files, they cannot all be opened.
  const keyAtHand = Boolean(opts.keyFile || process.env.ODP_KEY_FILE);
  if (!keyAtHand && !passphraseAtHand(opts) && !hasTerminal()) return undefined;
  if (files.some((f) => !existsSync(f.path))) return undefined;
  // The first packet tells each file's mode: ask only for what some file needs.
  const recipients = files.filter((f) => startsWithPkesk(firstByte(f.path))).length;
  const open = await secretsOpener(opts, {
    purpose: files.length === 1 ? files[0]!.file : `${files.length} secrets files`,
    passphrase: recipients < files.length,
    key: recipients > 0,
  });
  if (!open) return undefined;
  return openMany(files, open, opts.concurrency);
}

/**
 * How this run opens secrets files; undefined when a needed passphrase or key
 * is not at hand. The passphrase is asked once (held for the other files); a
 * private key is unlocked once per process (secrets/private-key.ts).
 */
export async function secretsOpener(
  opts: AllSecretsOptions,
  need: { purpose: string; passphrase: boolean; key: boolean },
): Promise<Opener | undefined> {
  if (need.key && !(opts.keyFile || process.env.ODP_KEY_FILE)) return undefined;
  if (need.passphrase) {
    try {
      const passphrase = await getPassphrase({ passphraseFile: opts.passphraseFile, purpose: need.purpose });
      if (opts.passphraseFile === undefined) holdPassphrase(passphrase); // a prompt is answered once
    } catch (e) {
      if (isOdpError(e) && e.code === 'SECRETS_NO_PASSPHRASE') return undefined;
      throw e;
    }
  }
  const { openText } = await import('../../secrets/open-text.js');
  return (data, file) => openText(data, file, opts);
}

/** The first byte of a file: enough to tell its mode. */
function firstByte(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const b = new Uint8Array(1);
    readSync(fd, b, 0, 1, 0);
    return b;
  } finally {
    closeSync(fd);
  }
}
