// How a secrets file is locked, and opening it whichever way: the file tells
// its mode (PKESK packets: public keys; SKESK: a passphrase), so both kinds
// live side by side and nothing in the spec has to say which is which.
import * as openpgp from 'openpgp';
import { OdpError } from '../errors.js';
import type { Secret } from '../secret.js';
import {
  decryptWithKeys,
  decryptWithPassphrase,
  messageMode,
  readMessage,
  recipientKeyIds,
  type PgpMessage,
} from './crypto.js';
import { parseEnvFile } from './envfile.js';
import { fastDecrypt, fastKeys, startsWithPkesk, type FastKey } from './fast-decrypt.js';
import { findByKeyId, loadKeyring, type TeamKey } from './keyring.js';
import { getPassphrase } from './passphrase.js';
import { KEY_HINT, keyFileFrom, privateKeys } from './private-key.js';

export type SecretsLock =
  | { mode: 'passphrase'; passphrase: string }
  | {
      mode: 'recipients';
      /** The recipients found in keys/ (or the reader's own key). */
      keys: openpgp.PublicKey[];
      /** Key IDs of recipients with no public key at hand: the file cannot be re-encrypted to them. */
      unknown: string[];
    };

/** Where the means to open a file come from: flags, else the environment, else a prompt. */
export interface KeySource {
  passphraseFile?: string;
  keyFile?: string;
}

export interface Decoded {
  values: Map<string, Secret>;
  lock: SecretsLock;
}

/** Decrypts and parses one file, whichever its mode. `dir` is the platform directory (for keys/). */
export async function decodeFile(
  dir: string,
  data: Uint8Array,
  file: string,
  src: KeySource,
): Promise<Decoded> {
  const message = await readMessage(data, file);
  if (messageMode(message) === 'recipients') {
    const keys = await unlockedKeys(src, file);
    const values = parseEnvFile(await decryptWithKeys(message, keys, file), file);
    return { values, lock: await recipientsLock(dir, message, keys) };
  }
  const passphrase = await getPassphrase({ passphraseFile: src.passphraseFile, purpose: file });
  const values = parseEnvFile(await decryptWithPassphrase(message, passphrase, file), file);
  return { values, lock: { mode: 'passphrase', passphrase } };
}

/** The plain text of one file, whichever its mode (openText tries a passphrase file's fast path first). */
export async function decodeText(data: Uint8Array, file: string, src: KeySource): Promise<string> {
  if (startsWithPkesk(data)) {
    const plain = fastDecrypt(data, fastKeysOf(await unlockedKeys(src, file)));
    const text = plain && utf8(plain);
    if (text !== undefined) return text;
  }
  const message = await readMessage(data, file);
  if (messageMode(message) === 'recipients') {
    return decryptWithKeys(message, await unlockedKeys(src, file), file);
  }
  const passphrase = await getPassphrase({ passphraseFile: src.passphraseFile, purpose: file });
  return decryptWithPassphrase(message, passphrase, file);
}

const fast = new WeakMap<openpgp.PrivateKey[], FastKey[]>();
function fastKeysOf(keys: openpgp.PrivateKey[]): FastKey[] {
  let f = fast.get(keys);
  if (!f) fast.set(keys, (f = fastKeys(keys)));
  return f;
}

function utf8(b: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return undefined; // the general path reports it
  }
}

/** The private keys of the run (unlocked once per process), or SECRETS_NO_KEY naming the file. */
export async function unlockedKeys(src: KeySource, file: string): Promise<openpgp.PrivateKey[]> {
  const keyFile = keyFileFrom(src.keyFile);
  if (!keyFile) {
    throw new OdpError('SECRETS_NO_KEY', `${file} is encrypted to public keys and no private key is set`, {
      hint: KEY_HINT,
    });
  }
  return privateKeys(keyFile);
}

async function recipientsLock(
  dir: string,
  message: PgpMessage,
  mine: openpgp.PrivateKey[],
): Promise<SecretsLock> {
  const ring = await loadKeyring(dir);
  const own: TeamKey[] = mine.map((k) => ({
    fingerprint: k.getFingerprint().toUpperCase(),
    user: '',
    key: k.toPublic(),
    file: '',
  }));
  const keys = new Map<string, openpgp.PublicKey>();
  const unknown: string[] = [];
  for (const id of recipientKeyIds(message)) {
    const k = findByKeyId(ring, id) ?? findByKeyId(own, id);
    if (k) keys.set(k.fingerprint, k.key);
    else unknown.push(id);
  }
  return { mode: 'recipients', keys: [...keys.values()], unknown };
}

/**
 * The lock of a new file: the team's keys when keys/ holds any (nobody shares
 * a passphrase), else a passphrase asked twice on a terminal.
 */
export async function newFileLock(dir: string, src: KeySource, purpose: string): Promise<SecretsLock> {
  const ring = await loadKeyring(dir);
  if (ring.length > 0) return { mode: 'recipients', keys: ring.map((k) => k.key), unknown: [] };
  const passphrase = await getPassphrase({ passphraseFile: src.passphraseFile, confirm: true, purpose });
  return { mode: 'passphrase', passphrase };
}
