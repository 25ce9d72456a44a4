// `odp import rancher`: reads a stack directory of the original platform,
// decrypts its secrets, and writes the project YAML and the project's secrets
// file. Everything is read, parsed and checked before the first write, so a
// bad stack directory leaves the platform directory untouched.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { FILE_HEADERS_ONLY, formatPatch, structuredPatch } from 'diff';
import { OdpError } from '../../errors.js';
import { applyImport, type ApplyResult } from '../../importers/to-spec.js';
import { invalid, parseRancherStack, type StackFile } from '../../importers/rancher.js';
import { writeFileAtomic } from '../../platformdir/atomic-write.js';
import { loadPlatformDir, projectFile, secretsFile } from '../../platformdir/load.js';
import { writeSchemaFiles } from '../../platformdir/schema-files.js';
import type { Secret } from '../../secret.js';
import { decryptText, messageMode, readMessage } from '../../secrets/crypto.js';
import { loadKeyring } from '../../secrets/keyring.js';
import { decodeText, newFileLock, type KeySource } from '../../secrets/lock.js';
import { getPassphrase } from '../../secrets/passphrase.js';
import { secretsExist, writeSecrets } from '../../secrets/store.js';
import { openTarget, saveSecrets, type SecretsTarget } from '../secrets/secrets.js';
import { refuseCollisions } from './import-collisions.js';
import type { InstanceName } from '../../platform-spec/project-schema.js';
import { MAX_YAML_BYTES } from '../../platform-spec/yaml-read.js';

export interface ImportRancherOptions {
  dir: string;
  stackDir: string;
  project: string;
  instance: InstanceName;
  client?: string;
  odooSeries?: string;
  passphraseFile?: string;
  /** The private key, when the project's secrets are encrypted to recipients. */
  keyFile?: string;
  /** For the stack's own rancher.env.gpg, when its passphrase is not the project's. */
  stackPassphraseFile?: string;
  dryRun?: boolean;
}

export interface ImportReport extends ApplyResult {
  projectFile: string;
  secretsFile: string;
  /** Unified diff of the project YAML (old → new). */
  diff: string;
  written: boolean;
  /** The JSON Schema files a new project file's first line points at, when this run (re)wrote them. */
  schemas: string[];
}

const show = (p: string) => relative(process.cwd(), p) || p;

async function readStackFile(dir: string, name: string, required: boolean): Promise<StackFile | undefined> {
  const path = join(dir, name);
  if (!existsSync(path)) {
    if (required) throw invalid(`${show(path)}: missing (a Rancher stack directory has ${name})`);
    return undefined;
  }
  const { size } = await stat(path);
  // Stack files are a few kilobytes: a huge one is refused before it is read.
  if (size > MAX_YAML_BYTES)
    throw invalid(`${show(path)}: the file is ${size} bytes; at most ${MAX_YAML_BYTES} (1 MiB) are read`);
  return { file: show(path), text: await readFile(path, 'utf8') };
}

export async function importRancher(opts: ImportRancherOptions): Promise<ImportReport> {
  const pd = await loadPlatformDir(opts.dir);
  // A project file that does not load is fixed by hand, never replaced by an import.
  const broken = pd.broken.get(opts.project);
  if (broken) throw broken;
  const notes: string[] = [];
  if (!existsSync(opts.stackDir)) throw invalid(`${opts.stackDir}: no such stack directory`);
  const compose = (await readStackFile(opts.stackDir, 'docker-compose.yml', true)) as StackFile;
  const publicEnv = (await readStackFile(opts.stackDir, 'rancher.public.env', true)) as StackFile;
  const rancherCompose = await readStackFile(opts.stackDir, 'rancher-compose.yml', false);

  // The project's file is opened first: the file written keeps its lock (its
  // passphrase or its recipients). One passphrase is asked at most once: the
  // project's, also tried on the stack's file.
  const keys: KeySource = { passphraseFile: opts.passphraseFile, keyFile: opts.keyFile };
  // The project may not exist yet: the import creates it.
  const target: SecretsTarget = {
    dir: opts.dir,
    path: secretsFile(opts.dir, opts.project),
    label: opts.project,
    ...(pd.projects.has(opts.project) ? { project: pd.projects.get(opts.project)!.spec } : {}),
  };
  const opened = secretsExist(target.path) ? await openTarget(target, keys) : undefined;
  let passphrase = opened?.lock.mode === 'passphrase' ? opened.lock.passphrase : undefined;
  const projectPass = async (confirm: boolean) =>
    (passphrase ??= await getPassphrase({
      passphraseFile: opts.passphraseFile,
      confirm,
      purpose: `${opts.project} secrets`,
    }));

  let secretEnv: StackFile | undefined;
  const gpgPath = join(opts.stackDir, 'rancher.env.gpg');
  const plainPath = join(opts.stackDir, 'rancher.env');
  if (existsSync(gpgPath)) {
    const file = show(gpgPath);
    const bytes = await readFile(gpgPath);
    const toKeys = messageMode(await readMessage(bytes, file)) === 'recipients';
    const text = await (
      toKeys
        ? decodeText(bytes, file, keys)
        : opts.stackPassphraseFile
          ? getPassphrase({ passphraseFile: opts.stackPassphraseFile }).then((p) =>
              decryptText(bytes, p, file),
            )
          : projectPass(false).then((p) => decryptText(bytes, p, file))
    ).catch((e: unknown) => {
      throw toKeys ? e : stackPassphraseError(e, file, opts.stackPassphraseFile);
    });
    secretEnv = { file, text };
  } else if (existsSync(plainPath)) {
    secretEnv = { file: show(plainPath), text: await readFile(plainPath, 'utf8') };
  }
  if (existsSync(plainPath)) {
    notes.push(
      `${show(plainPath)} holds secrets in plaintext: do not keep it in git (encrypt it or delete it)`,
    );
  }
  if (!secretEnv) notes.push('no rancher.env.gpg or rancher.env: the stack brings no secrets');

  const stack = parseRancherStack({ compose, publicEnv, rancherCompose, secretEnv });

  const yamlPath = projectFile(opts.dir, opts.project);
  const secretsPath = secretsFile(opts.dir, opts.project);
  const existing = pd.projects.has(opts.project)
    ? { file: show(yamlPath), text: await readFile(yamlPath, 'utf8') }
    : undefined;
  const current: Map<string, Secret> = opened?.values ?? new Map();

  const result = applyImport({
    platform: pd.platform,
    projectName: opts.project,
    instance: opts.instance,
    existing,
    client: opts.client,
    odooSeries: opts.odooSeries,
    stack,
    secrets: current,
  });
  const dbName = stack.env.get('DB_NAME')?.at;
  refuseCollisions(pd, result.project, opts.instance, {
    file: show(yamlPath),
    fields: { domain: stack.domainAt, ...(dbName ? { database: dbName } : {}) },
  });
  const report: ImportReport = {
    ...result,
    warnings: [...notes, ...result.warnings],
    projectFile: show(yamlPath),
    secretsFile: show(secretsPath),
    diff: unifiedDiff(
      existing?.text ?? '',
      result.yaml,
      existing ? show(yamlPath) : '/dev/null',
      show(yamlPath),
    ),
    written: false,
    schemas: [],
  };
  if (opts.dryRun) return report;

  if (result.changedSecrets.length > 0) {
    if (opened) await saveSecrets(opened, result.secrets);
    else {
      // A new file: to the team's keys when keys/ holds any, else the passphrase.
      const team = (await loadKeyring(opts.dir)).length > 0;
      const lock = team ? await newFileLock(opts.dir, keys, show(secretsPath)) : await projectPass(true);
      await writeSecrets(secretsPath, result.secrets, lock);
    }
  }
  if (result.yaml !== existing?.text) await writeFileAtomic(yamlPath, result.yaml);
  report.written = true;
  if (!existing) report.schemas = (await writeSchemaFiles(opts.dir)).map(show);
  return report;
}

/** A stack's own passphrase is often not the project's: say how to give it. */
function stackPassphraseError(e: unknown, file: string, given: string | undefined): unknown {
  if (!(e instanceof OdpError) || e.code !== 'SECRETS_BAD_PASSPHRASE') return e;
  const hint = given
    ? `The passphrase in --stack-passphrase-file ${given} does not open ${file}: check that file's first line.`
    : `The project's passphrase does not open ${file}. If the stack has its own (the original platform kept one per stack), pass it with --stack-passphrase-file FILE.`;
  return new OdpError('SECRETS_BAD_PASSPHRASE', `wrong passphrase for ${file}`, { hint });
}

/**
 * The unified diff (3 lines of context) of the project YAML, old → new, with
 * `---`/`+++` headers and no `Index:` line; '' when nothing changed. jsdiff
 * computes it; a file without a final newline is marked as diff(1) marks it.
 */
export function unifiedDiff(a: string, b: string, nameA: string, nameB: string): string {
  const patch = structuredPatch(nameA, nameB, a, b, undefined, undefined, { context: 3 });
  return patch.hunks.length === 0 ? '' : formatPatch(patch, FILE_HEADERS_ONLY);
}
