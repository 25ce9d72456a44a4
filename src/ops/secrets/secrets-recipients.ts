// `odp secrets recipients …`: who can open a secrets file. The file itself
// records its recipients (one PKESK packet per key); keys/ turns their key IDs
// back into fingerprints and names. Adding or removing re-encrypts the file to
// the new set under a fresh session key, so a removed key cannot open what is
// written from then on (it can still open the old versions in git history:
// rotate what they held).
import { readFile } from 'node:fs/promises';
import type * as openpgp from 'openpgp';
import { OdpError } from '../../errors.js';
import { messageMode, readMessage, recipientKeyIds } from '../../secrets/crypto.js';
import {
  findByFingerprint,
  findByKeyId,
  importKey,
  loadKeyring,
  parseKey,
  type TeamKey,
} from '../../secrets/keyring.js';
import type { KeySource, SecretsLock } from '../../secrets/lock.js';
import { readSecretsBytes } from '../../secrets/store.js';
import { openTarget, saveSecrets, show, type SecretsTarget } from './secrets.js';

export interface Recipient {
  /** The primary key's fingerprint, when keys/ (or the file's reader) knows the key. */
  fingerprint?: string;
  user?: string;
  /** The key ID the file names (an encryption subkey's, usually). */
  keyId: string;
}

export interface RecipientsList {
  file: string;
  mode: 'passphrase' | 'recipients';
  recipients: Recipient[];
}

/** Reads the recipients from the file's packets: no key or passphrase needed. */
export async function listRecipients(target: SecretsTarget): Promise<RecipientsList> {
  const file = show(target.path);
  const message = await readMessage(await readSecretsBytes(target.path), file);
  const mode = messageMode(message) ?? 'passphrase';
  const ring = await loadKeyring(target.dir);
  const recipients = recipientKeyIds(message).map((keyId) => {
    const k = findByKeyId(ring, keyId);
    return k ? { keyId, fingerprint: k.fingerprint, user: k.user } : { keyId };
  });
  return { file, mode, recipients };
}

export interface RecipientsChange {
  file: string;
  /** The mode before the change: `passphrase` means the file was converted. */
  from: 'passphrase' | 'recipients';
  added: string[];
  removed: string[];
  /** Fingerprints (or key IDs) the file is encrypted to afterwards. */
  recipients: string[];
  written: boolean;
}

/** `add`: KEY is a path to an armored public key (copied into keys/) or the fingerprint of a key in keys/. */
export async function addRecipients(
  target: SecretsTarget,
  keys: readonly string[],
  opts: KeySource & { dryRun?: boolean },
): Promise<RecipientsChange> {
  const ring = await loadKeyring(target.dir);
  const wanted: { key: openpgp.PublicKey; fromFile?: boolean }[] = [];
  for (const k of keys) {
    const known = findByFingerprint(ring, k);
    if (known) wanted.push({ key: known.key });
    else wanted.push({ key: await parseKey(await readKeyArg(k), k), fromFile: true });
  }
  const opened = await openTarget(target, opts);
  const before = opened.lock.mode === 'recipients' ? opened.lock : { keys: [], unknown: [] };
  const have = new Set(before.keys.map(fpr));
  const added = wanted.filter((w) => !have.has(fpr(w.key)));
  const lock: SecretsLock = {
    mode: 'recipients',
    keys: [...before.keys, ...dedupe(added.map((w) => w.key))],
    unknown: before.unknown,
  };
  const change: RecipientsChange = {
    file: opened.file,
    from: opened.lock.mode,
    added: dedupe(added.map((w) => w.key)).map(fpr),
    removed: [],
    recipients: [...lock.keys.map(fpr), ...lock.unknown],
    written: false,
  };
  if (opts.dryRun || (change.added.length === 0 && opened.lock.mode === 'recipients')) return change;
  for (const w of wanted) if (w.fromFile) await importKey(target.dir, w.key);
  await saveSecrets(opened, opened.values, lock);
  return { ...change, written: true };
}

/** `remove`: by fingerprint (or its last 16+ digits) or by the key ID `list` shows. */
export async function removeRecipients(
  target: SecretsTarget,
  names: readonly string[],
  opts: KeySource & { dryRun?: boolean },
): Promise<RecipientsChange> {
  const opened = await openTarget(target, opts);
  if (opened.lock.mode !== 'recipients') {
    throw new OdpError(
      'USAGE',
      `${opened.file} is encrypted with a passphrase: it has no recipients to remove`,
      {
        hint: 'Change the passphrase with `odp secrets rotate PROJECT --new-passphrase`.',
      },
    );
  }
  const { keys, unknown } = opened.lock;
  const teamKeys: TeamKey[] = keys.map((k) => ({ fingerprint: fpr(k), user: '', key: k, file: '' }));
  const removed = new Set<string>();
  for (const n of names) {
    const k = findByFingerprint(teamKeys, n) ?? findByKeyId(teamKeys, n.toLowerCase());
    const id = unknown.find((u) => u === n.toLowerCase());
    if (k) removed.add(k.fingerprint);
    else if (id) removed.add(id);
    else {
      throw new OdpError('NOT_FOUND', `${n} is not a recipient of ${opened.file}; nothing was changed`, {
        hint: `\`odp secrets recipients list\` shows who is.`,
      });
    }
  }
  const lock: SecretsLock = {
    mode: 'recipients',
    keys: keys.filter((k) => !removed.has(fpr(k))),
    unknown: unknown.filter((u) => !removed.has(u)),
  };
  if (lock.keys.length + lock.unknown.length === 0) {
    throw new OdpError('USAGE', `that would leave ${opened.file} with no recipient; nothing was changed`, {
      hint: 'Add the new recipient first, then remove the old one.',
    });
  }
  const change: RecipientsChange = {
    file: opened.file,
    from: 'recipients',
    added: [],
    removed: [...removed],
    recipients: [...lock.keys.map(fpr), ...lock.unknown],
    written: false,
  };
  if (opts.dryRun) return change;
  await saveSecrets(opened, opened.values, lock);
  return { ...change, written: true };
}

const fpr = (k: openpgp.PublicKey) => k.getFingerprint().toUpperCase();
const dedupe = (keys: openpgp.PublicKey[]) => [...new Map(keys.map((k) => [fpr(k), k])).values()];

async function readKeyArg(arg: string): Promise<string> {
  try {
    return await readFile(arg, 'utf8');
  } catch {
    throw new OdpError('NOT_FOUND', `${arg} is neither a key file nor the fingerprint of a key in keys/`, {
      hint: 'Give the path of an armored public key (`gpg --export --armor FPR > key.asc`), or a fingerprint listed in keys/.',
    });
  }
}
