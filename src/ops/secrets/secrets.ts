// What `odp secrets …` and `odp platform secrets …` do, apart from printing:
// open an encrypted secrets file (a project's or the platform's), change it,
// write it back. Every write is atomic and happens only after the old file
// decrypted, so a wrong passphrase or key changes nothing.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { isOdpError, OdpError } from '../../errors.js';
import { loadPlatformDir, requireProject, secretsFile } from '../../platformdir/load.js';
import { Secret } from '../../secret.js';
import { decodeValues } from '../../secrets/decode-values.js';
import { decodeFile, newFileLock, type KeySource, type SecretsLock } from '../../secrets/lock.js';
import { parseKey, scopedKey } from '../../secrets/scope.js';
import { readSecretsBytes, secretsExist, writeSecrets } from '../../secrets/store.js';
import { generatePassword } from '../../secrets/generate.js';
import { instanceNames, type InstanceName, type ProjectSpec } from '../../platform-spec/project-schema.js';
import { platformSecretsFile } from './platform-secrets.js';
import { requireInstanceName } from '../../platform-spec/instance-names.js';

export { GENERATED_KEYS } from '../../secrets/generate.js';
/** Paths as the user would type them: relative below the current directory, absolute elsewhere. */
export const show = (p: string) => {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : resolve(p);
};

/** A secrets file odp manages: a project's (scoped per instance) or the platform's own. */
export interface SecretsTarget {
  dir: string;
  path: string;
  /** The project's name, or `platform`. */
  label: string;
  /** Absent for the platform's file, whose keys have no instance scope. */
  project?: ProjectSpec;
}

export async function projectTarget(dir: string, project: string): Promise<SecretsTarget> {
  const spec = requireProject(await loadPlatformDir(dir), project).spec;
  return { dir, path: secretsFile(dir, project), label: project, project: spec };
}

export async function platformTarget(dir: string): Promise<SecretsTarget> {
  await loadPlatformDir(dir); // a directory that is not a platform says so, before any prompt
  return { dir, path: platformSecretsFile(dir), label: 'platform' };
}

/** Runs without the means to open the file: no passphrase (flag, env, terminal) or no key. */
const unopenable = (e: unknown) =>
  isOdpError(e) && (e.code === 'SECRETS_NO_PASSPHRASE' || e.code === 'SECRETS_NO_KEY');

/**
 * For render, deploy and friends. With `optional`, a project without a secrets
 * file, or a run with no passphrase or key at hand (no flag, no environment,
 * no terminal), yields undefined instead of an error; a wrong one still fails.
 */
export async function loadProjectSecrets(
  dir: string,
  project: string,
  opts: KeySource & { optional?: boolean },
): Promise<Map<string, Secret> | undefined> {
  const path = secretsFile(dir, project);
  if (opts.optional && !secretsExist(path)) return undefined;
  const data = await readSecretsBytes(path);
  try {
    return await decodeValues(dir, data, show(path), opts);
  } catch (e) {
    if (opts.optional && unopenable(e)) return undefined;
    throw e;
  }
}

/** An opened secrets file: what was read, so a write can tell whether someone else wrote meanwhile. */
export interface OpenedSecrets {
  target: SecretsTarget;
  path: string;
  /** The path as shown to the user (relative to the current directory). */
  file: string;
  lock: SecretsLock;
  values: Map<string, Secret>;
  original: Uint8Array | undefined;
}

export async function openSecrets(
  dir: string,
  project: string,
  opts: KeySource & { create?: boolean },
): Promise<OpenedSecrets> {
  return openTarget(await projectTarget(dir, project), opts);
}

export async function openTarget(
  target: SecretsTarget,
  opts: KeySource & { create?: boolean },
): Promise<OpenedSecrets> {
  const { path } = target;
  const file = show(path);
  if (opts.create && !secretsExist(path)) {
    const lock = await newFileLock(target.dir, opts, `new ${file}`);
    return { target, path, file, lock, values: new Map(), original: undefined };
  }
  const original = await readSecretsBytes(
    path,
    target.project
      ? `Create it with \`odp secrets set ${target.label} KEY --stdin\` or \`odp secrets edit ${target.label}\`.`
      : 'Create it with `odp platform secrets set KEY --stdin` or `odp platform secrets edit` (`odp platform up` generates its passwords).',
  );
  const { values, lock } = await decodeFile(target.dir, original, file, opts);
  return { target, path, file, lock, values, original };
}

/** Writes atomically, unless the file changed since it was opened (another `odp secrets` run): no lost updates. */
export async function saveSecrets(
  s: OpenedSecrets,
  values: ReadonlyMap<string, Secret>,
  lock: SecretsLock = s.lock,
): Promise<void> {
  const now = existsSync(s.path) ? await readFile(s.path) : undefined;
  const same =
    now === undefined || s.original === undefined ? now === s.original : Buffer.from(s.original).equals(now);
  if (!same) {
    throw new OdpError('BUSY', `${s.file} changed while odp was working on it; nothing was written`, {
      hint: 'Someone else changed the secrets at the same time. Run the command again.',
    });
  }
  await writeSecrets(s.path, values, lock);
}

export function parseInstance(name: string | undefined): InstanceName | undefined {
  if (name === undefined) return undefined;
  return requireInstanceName(name);
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
