// `odp secrets edit` / `odp platform secrets edit`: decrypt into a private
// temp file, run the user's editor, re-encrypt. The editor runs with the
// secrets of odp's own environment removed: an editor's plugins, language
// servers and crash reporters see its environment, and none of them needs
// the passphrase that opens every secrets file.
import { spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOdpError, OdpError } from '../../errors.js';
import type { Secret } from '../../secret.js';
import { formatEnvFile, parseEnvFile } from '../../secrets/envfile.js';
import type { KeySource } from '../../secrets/lock.js';
import { openTarget, saveSecrets, type SecretsTarget } from './secrets.js';

const EDIT_HEADER = (t: SecretsTarget) =>
  [
    `# Secrets of ${t.label}: one \`export KEY='value'\` per line; inside single quotes all is literal.`,
    ...(t.project
      ? ['# KEY applies to every instance; TEST__KEY, INTEGRATION__KEY or PROD__KEY to one instance.']
      : []),
    '# Save and quit to re-encrypt; quit without saving to change nothing.',
    '',
  ].join('\n');

export interface EditResult {
  added: string[];
  changed: string[];
  removed: string[];
}

/**
 * Decrypts into a private temp file, runs the editor, re-encrypts. If the
 * result does not parse, nothing changes and the temp file is kept (its path
 * is in the error) so the edit is not lost.
 */
export async function editSecrets(target: SecretsTarget, opts: KeySource): Promise<EditResult> {
  const opened = await openTarget(target, { ...opts, create: true });
  const before = EDIT_HEADER(target) + formatEnvFile(opened.values);
  // tmpfs when there is one, so the plaintext never reaches a disk; the dir is 0700.
  const base = (await access('/dev/shm').then(
    () => true,
    () => false,
  ))
    ? '/dev/shm'
    : tmpdir();
  const tmpDir = await mkdtemp(join(base, 'odp-secrets-'));
  const file = join(tmpDir, `${target.label}.env`);
  let keep = false;
  try {
    await writeFile(file, before, { mode: 0o600, flag: 'wx' });
    await runEditor(file);
    const after = await readFile(file, 'utf8');
    if (after === before) return { added: [], changed: [], removed: [] };
    keep = true;
    let values: Map<string, Secret>;
    try {
      values = parseEnvFile(after, file);
    } catch (e) {
      if (!isOdpError(e)) throw e;
      throw new OdpError(e.code, `${e.message}; nothing was changed`, {
        problems: e.problems,
        hint: `Your edit is kept in ${file} (readable only by you): fix it from there, then delete it.`,
      });
    }
    const diff = diffKeys(opened.values, values);
    // Only comments or layout changed: the encrypted file stays byte-identical.
    if (diff.added.length + diff.changed.length + diff.removed.length > 0) await saveSecrets(opened, values);
    keep = false;
    return diff;
  } finally {
    if (!keep) await rm(tmpDir, { recursive: true, force: true });
  }
}

function diffKeys(before: ReadonlyMap<string, Secret>, after: ReadonlyMap<string, Secret>): EditResult {
  const added = [...after.keys()].filter((k) => !before.has(k)).sort();
  const removed = [...before.keys()].filter((k) => !after.has(k)).sort();
  const changed = [...after.keys()]
    .filter((k) => before.has(k) && !before.get(k)!.equals(after.get(k)!))
    .sort();
  return { added, changed, removed };
}

// Every ODP_* variable (passphrases, key passphrase, webhook secret, registry
// credentials…) and anything whose name says it is a credential.
const SECRET_NAME = /^ODP_|PASS(WORD|PHRASE|WD)?($|_)|SECRET|TOKEN|PRIVATE|CREDENTIAL|_KEY($|_)/i;

/** The environment the editor gets: odp's, minus every variable that may hold a secret. */
export function editorEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !SECRET_NAME.test(k)));
}

/** `$VISUAL`, `$EDITOR` or vi, through the shell as git does, so `EDITOR="code --wait"` works. */
async function runEditor(file: string): Promise<void> {
  const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
  // The terminal's Ctrl-C belongs to the editor; odp must survive it to clean up the plaintext.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  try {
    const status = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', `${editor} "$1"`, 'odp-editor', file], {
        stdio: 'inherit',
        env: editorEnv(),
      });
      child.on('error', reject);
      child.on('exit', (code) => resolve(code));
    });
    if (status !== 0) {
      throw new OdpError(
        'ABORTED',
        `the editor (${editor}) exited with status ${status ?? 'signal'}; nothing was changed`,
      );
    }
  } finally {
    process.off('SIGINT', ignore);
  }
}
