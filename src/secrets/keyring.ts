// The team's public keys: `keys/<FINGERPRINT>.asc` in the platform directory,
// committed with the spec. Which keys a secrets file is encrypted to is told by
// the file itself (one PKESK packet per recipient); this directory turns those
// key IDs back into people, and holds the keys new secrets files are encrypted to.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { OdpError } from '../errors.js';
import { writeFileAtomic } from '../platformdir/atomic-write.js';

export const KEYS_DIR = 'keys';

export interface TeamKey {
  fingerprint: string;
  /** The first user ID, e.g. `Ada <ada@example.com>`. */
  user: string;
  key: openpgp.PublicKey;
  file: string;
}

export function keysDir(dir: string): string {
  return join(dir, KEYS_DIR);
}

export async function loadKeyring(dir: string): Promise<TeamKey[]> {
  const d = keysDir(dir);
  if (!existsSync(d)) return [];
  const names = (await readdir(d)).filter((n) => n.endsWith('.asc')).sort();
  return Promise.all(
    names.map(async (n) => {
      const file = join(d, n);
      const key = await parseKey(await readFile(file, 'utf8'), file);
      return describe(key, file);
    }),
  );
}

/** The keyring's key holding (sub)key `id` (16 hex digits), if any. */
export function findByKeyId(ring: readonly TeamKey[], id: string): TeamKey | undefined {
  const want = id.toLowerCase();
  return ring.find((k) => k.key.getKeyIDs().some((kid) => kid.toHex() === want));
}

/** A key named by its fingerprint (or its last 16+ hex digits), or undefined. */
export function findByFingerprint(ring: readonly TeamKey[], fpr: string): TeamKey | undefined {
  const want = fpr.replace(/\s+/g, '').toUpperCase();
  if (!/^[0-9A-F]{16,40}$/.test(want)) return undefined;
  return ring.find((k) => k.fingerprint.endsWith(want));
}

/** Parses an armored public key (a private one is refused: it must never be committed). */
export async function parseKey(armored: string, file: string): Promise<openpgp.PublicKey> {
  if (armored.includes('PRIVATE KEY BLOCK')) {
    throw new OdpError('USAGE', `${file} holds a private key; give the public key`, {
      hint: 'Export it with `gpg --export --armor FINGERPRINT > key.asc`.',
    });
  }
  let key: openpgp.PublicKey;
  try {
    key = await openpgp.readKey({ armoredKey: armored });
  } catch {
    throw new OdpError('USAGE', `${file} is not an armored OpenPGP public key`, {
      hint: 'Export one with `gpg --export --armor FINGERPRINT > key.asc`.',
    });
  }
  try {
    await key.getEncryptionKey();
  } catch {
    throw new OdpError('USAGE', `the key in ${file} cannot encrypt (no valid encryption subkey, or expired)`);
  }
  return key;
}

/** Writes `keys/<FPR>.asc` (unless present) and returns the key as the keyring holds it. */
export async function importKey(dir: string, key: openpgp.PublicKey): Promise<TeamKey> {
  const fpr = key.getFingerprint().toUpperCase();
  const file = join(keysDir(dir), `${fpr}.asc`);
  if (!existsSync(file)) {
    await mkdir(keysDir(dir), { recursive: true });
    await writeFileAtomic(file, key.armor(), { mode: 0o644 });
  }
  return describe(key, file);
}

export function describe(key: openpgp.PublicKey, file: string): TeamKey {
  return { fingerprint: key.getFingerprint().toUpperCase(), user: key.getUserIDs()[0] ?? '', key, file };
}
