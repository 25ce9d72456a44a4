// `odp project new`: onboard a customer project in one command. Everything the
// original document had people invent by hand (a database name that does not
// reveal the customer, passwords, domains, bucket, prefix) is generated here
// (project-draft.ts); what only the user knows is listed to fill in.
import { existsSync } from 'node:fs';
import { databaseFor } from '../../compose/instance.js';
import { OdpError } from '../../errors.js';
import { writeFileAtomic } from '../../platformdir/atomic-write.js';
import { loadPlatformDir, projectFile, secretsFile } from '../../platformdir/load.js';
import { writeSchemaFiles } from '../../platformdir/schema-files.js';
import { Secret } from '../../secret.js';
import { newFileLock } from '../../secrets/lock.js';
import { writeSecrets } from '../../secrets/store.js';
import { parseSpec } from '../../platform-spec/parse.js';
import { projectSchema } from '../../platform-spec/project-schema.js';
import { own } from '../../platform-spec/own.js';
import { isPlaceholderImage, PLACEHOLDER_REGISTRY } from '../../platform-spec/placeholder-image.js';
import {
  derived,
  draftProject,
  DRAWN_WHEN_WRITTEN,
  projectData,
  validateOptions,
  type DraftOptions,
  type TakenNames,
} from './project-draft.js';

export { isPlaceholderImage, PLACEHOLDER_REGISTRY };

// The embedded S3 server (images/s3rver) accepts its default credentials; with
// it, the storage keys are known and written for the user instead of asked.
const EMBEDDED_S3_KEYS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
const STORAGE_KEYS = Object.keys(EMBEDDED_S3_KEYS);

export interface NewProjectOptions extends DraftOptions {
  dryRun?: boolean;
  passphraseFile?: string;
  keyFile?: string;
}

/** Something `project new` could not know: the user fills it in, the way `how` says. */
export interface ToFill {
  what: string;
  /** A file:line to edit, or the exact command to run. */
  how: string;
  /** The command that fills it in, after `odp` (the CLI adds `--dir` when it was given). */
  command?: string;
}

export interface NewProjectResult {
  file: string;
  /** The file as written; in a dry run with the random database name as `<random>`. */
  yaml: string;
  /** The prod database name; `<random>` in a dry run (it is drawn when the file is written). */
  database: string;
  domains: Record<string, string>;
  buckets: Record<string, string>;
  secretKeys: string[];
  image: string;
  imageIsPlaceholder: boolean;
  toFill: ToFill[];
  written: boolean;
  /** The JSON Schema files the project file's first line points at, when this run (re)wrote them. */
  schemas: string[];
}

export async function newProject(
  dir: string,
  name: string,
  opts: NewProjectOptions,
): Promise<NewProjectResult> {
  // Every option that becomes spec is checked by the schema first, with placeholder
  // generated values: a bad --image or --client is refused before anything is read.
  const { version, image, buckets } = derived(name, opts);
  const placeholder = {
    test: 'test.example.com',
    integration: 'integration.example.com',
    prod: 'example.com',
  };
  validateOptions(
    projectData({ ...opts, name, image, version, database: 'placeholder', domains: placeholder, buckets }),
  );

  const pd = await loadPlatformDir(dir);
  const file = projectFile(dir, name);
  if (pd.projects.has(name) || existsSync(file)) {
    throw new OdpError('ALREADY_EXISTS', `project ${name} already exists (${file})`);
  }
  if (existsSync(secretsFile(dir, name))) {
    throw new OdpError('ALREADY_EXISTS', `${secretsFile(dir, name)} already exists`, {
      hint: 'A secrets file without its project: move it away or import it with `odp import`.',
    });
  }
  if (!own(pd.platform.plans, opts.plan)) {
    throw new OdpError('NOT_FOUND', `plan "${opts.plan}" is not declared in platform.yaml`, {
      hint: `Known plans: ${Object.keys(pd.platform.plans).join(', ')}.`,
    });
  }
  const taken: TakenNames = { databases: new Set(), domains: new Set() };
  for (const p of pd.projects.values()) {
    for (const inst of ['integration', 'prod'] as const) {
      const db = databaseFor(p.spec, inst);
      if (db) taken.databases.add(db);
    }
    for (const i of Object.values(p.spec.instances)) if (i) taken.domains.add(i.domain);
  }
  const draft = draftProject(pd.platform.domain, taken, name, opts);
  const { yaml, database, domains, secrets } = draft;
  // What we write must load as what was validated: read back, it gives the same project.
  parseSpec(file, yaml, projectSchema);

  const toFill: ToFill[] = [];
  if (pd.platform.services.storage.embedded) {
    for (const [k, v] of Object.entries(EMBEDDED_S3_KEYS)) secrets.set(k, new Secret(v));
  } else {
    // Integration and prod keep attachments in the platform's S3: keys only the user has.
    for (const inst of ['integration', 'prod'] as const) {
      for (const key of STORAGE_KEYS) {
        const command = `secrets set ${name} ${key} --instance ${inst}`;
        toFill.push({
          what: `${inst}'s ${key} for ${pd.platform.services.storage.endpoint}`,
          how: `odp ${command}`,
          command,
        });
      }
    }
  }
  const imageIsPlaceholder = isPlaceholderImage(image);
  if (imageIsPlaceholder) {
    const line = yaml.split('\n').findIndex((l) => l.startsWith('image:')) + 1;
    toFill.unshift({
      what: `the image repository CI pushes ${name} to (${image} is a placeholder; the test instance runs its :latest)`,
      how: `edit ${file}:${line} (image:), or pass --image to \`project new\``,
    });
  }
  const result = {
    file,
    yaml,
    database,
    domains,
    buckets,
    secretKeys: [...secrets.keys()],
    image,
    imageIsPlaceholder,
    toFill,
    written: false,
    schemas: [],
  };
  // The name is drawn when the file is written: a dry run cannot show the one a run will write.
  if (opts.dryRun) return { ...result, yaml: draft.preview(), database: DRAWN_WHEN_WRITTEN };

  const lock = await newFileLock(dir, opts, `new ${secretsFile(dir, name)}`);
  // Secrets first: if they cannot be written, no project file points at missing secrets.
  await writeSecrets(secretsFile(dir, name), secrets, lock);
  await writeFileAtomic(file, yaml);
  return { ...result, written: true, schemas: await writeSchemaFiles(dir) };
}
