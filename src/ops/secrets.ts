// What `odp secrets …` does, apart from printing: open a project's encrypted
// secrets, change them, write them back. Every write is atomic and happens
// only after the old file decrypted, so a wrong passphrase changes nothing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { isOdpError, OdpError } from '../errors.js';
import { loadPlatformDir, requireProject, secretsFile } from '../platformdir/load.js';
import { Secret } from '../secret.js';
import { formatEnvFile, parseEnvFile } from '../secrets/envfile.js';
import { getPassphrase } from '../secrets/passphrase.js';
import { parseKey, scopedKey } from '../secrets/scope.js';
import { decodeSecrets, readSecretsBytes, secretsExist, writeSecrets } from '../secrets/store.js';
import { generatePassword } from '../secrets/generate.js';
import { instanceNames, type InstanceName, type ProjectSpec } from '../spec/project-schema.js';

export { GENERATED_KEYS } from '../secrets/generate.js';
const show = (p: string) => relative(process.cwd(), p) || p;

/**
 * For render, deploy and friends. With `optional`, a project without a secrets
 * file, or a run with no passphrase at hand (no flag, no ODP_PASSPHRASE, no
 * terminal), yields undefined instead of an error; a wrong passphrase still fails.
 */
export async function loadProjectSecrets(
  dir: string,
  project: string,
  opts: { passphraseFile?: string; optional?: boolean },
): Promise<Map<string, Secret> | undefined> {
  const path = secretsFile(dir, project);
  if (opts.optional && !secretsExist(path)) return undefined;
  const data = await readSecretsBytes(path);
  let passphrase: string;
  try {
    passphrase = await getPassphrase({ passphraseFile: opts.passphraseFile, purpose: show(path) });
  } catch (e) {
    if (opts.optional && isOdpError(e) && e.code === 'SECRETS_NO_PASSPHRASE') return undefined;
    throw e;
  }
  return decodeSecrets(data, passphrase, show(path));
}

/** An opened secrets file: what was read, so a write can tell whether someone else wrote meanwhile. */
export interface OpenedSecrets {
  project: ProjectSpec;
  path: string;
  /** The path as shown to the user (relative to the current directory). */
  file: string;
  passphrase: string;
  values: Map<string, Secret>;
  original: Uint8Array | undefined;
}

export async function openSecrets(
  dir: string,
  project: string,
  opts: { passphraseFile?: string; create?: boolean },
): Promise<OpenedSecrets> {
  const spec = requireProject(await loadPlatformDir(dir), project).spec;
  const path = secretsFile(dir, project);
  if (opts.create && !secretsExist(path)) {
    const passphrase = await getPassphrase({
      passphraseFile: opts.passphraseFile,
      confirm: true,
      purpose: `new ${show(path)}`,
    });
    return { project: spec, path, file: show(path), passphrase, values: new Map(), original: undefined };
  }
  const original = await readSecretsBytes(path);
  const passphrase = await getPassphrase({ passphraseFile: opts.passphraseFile, purpose: show(path) });
  const values = await decodeSecrets(original, passphrase, show(path));
  return { project: spec, path, file: show(path), passphrase, values, original };
}

/** Writes atomically, unless the file changed since it was opened (another `odp secrets` run): no lost updates. */
export async function saveSecrets(
  s: OpenedSecrets,
  values: ReadonlyMap<string, Secret>,
  passphrase = s.passphrase,
): Promise<void> {
  const now = existsSync(s.path) ? await readFile(s.path) : undefined;
  const same =
    now === undefined || s.original === undefined ? now === s.original : Buffer.from(s.original).equals(now);
  if (!same) {
    throw new OdpError('BUSY', `${s.file} changed while odp was working on it; nothing was written`, {
      hint: 'Someone else changed the secrets at the same time. Run the command again.',
    });
  }
  await writeSecrets(s.path, values, passphrase);
}

export function parseInstance(name: string | undefined): InstanceName | undefined {
  if (name === undefined) return undefined;
  const inst = instanceNames.find((i) => i === name);
  if (!inst)
    throw new OdpError('USAGE', `unknown instance "${name}"`, {
      hint: `Use one of: ${instanceNames.join(', ')}.`,
    });
  return inst;
}

/** The key as stored: `PROD__DB_PASSWORD` for `--instance prod DB_PASSWORD`. */
export function storedKey(key: string, instance: InstanceName | undefined): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    throw new OdpError('USAGE', `"${key}" is not an environment variable name`);
  }
  if (!instance) return key;
  if (parseKey(key).instance)
    throw new OdpError('USAGE', `${key} is already scoped to an instance; drop --instance`);
  return scopedKey(instance, key);
}

export type Scope = 'all' | InstanceName;
export const SCOPES: readonly Scope[] = ['all', ...instanceNames];

/** Keys grouped by where they apply, values masked unless revealed. */
export function groupByScope(
  values: ReadonlyMap<string, Secret>,
  reveal: boolean,
): Record<Scope, Record<string, string>> {
  const groups = Object.fromEntries(SCOPES.map((s) => [s, {}])) as Record<Scope, Record<string, string>>;
  for (const key of [...values.keys()].sort()) {
    const { instance, name } = parseKey(key);
    const value = values.get(key)!;
    groups[instance ?? 'all'][name] = reveal ? value.reveal() : String(value);
  }
  return groups;
}

/** Regenerates DB_PASSWORD / ADMIN_PASSWD per instance; returns the keys it changed. */
export function rotatePasswords(
  values: Map<string, Secret>,
  instances: readonly InstanceName[],
  keys: readonly string[],
): string[] {
  const changed: string[] = [];
  for (const inst of instances) {
    for (const key of keys) {
      const stored = scopedKey(inst, key);
      values.set(stored, new Secret(generatePassword()));
      changed.push(stored);
    }
  }
  return changed;
}

export function projectInstances(spec: ProjectSpec): InstanceName[] {
  return instanceNames.filter((i) => spec.instances[i] !== undefined);
}

const EDIT_HEADER = (project: string) =>
  [
    `# Secrets of ${project}: one \`export KEY='value'\` per line; inside single quotes all is literal.`,
    '# KEY applies to every instance; TEST__KEY, INTEGRATION__KEY or PROD__KEY to one instance.',
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
export async function editSecrets(
  dir: string,
  project: string,
  opts: { passphraseFile?: string },
): Promise<EditResult> {
  const opened = await openSecrets(dir, project, { ...opts, create: true });
  const before = EDIT_HEADER(project) + formatEnvFile(opened.values);
  // tmpfs when there is one, so the plaintext never reaches a disk; the dir is 0700.
  const base = (await access('/dev/shm').then(
    () => true,
    () => false,
  ))
    ? '/dev/shm'
    : tmpdir();
  const tmpDir = await mkdtemp(join(base, 'odp-secrets-'));
  const file = join(tmpDir, `${project}.env`);
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

/** `$VISUAL`, `$EDITOR` or vi, through the shell as git does, so `EDITOR="code --wait"` works. */
async function runEditor(file: string): Promise<void> {
  const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
  // The terminal's Ctrl-C belongs to the editor; odp must survive it to clean up the plaintext.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  try {
    const status = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', `${editor} "$1"`, 'odp-editor', file], { stdio: 'inherit' });
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
