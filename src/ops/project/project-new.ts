// `odp project new`: onboard a customer project in one command. Everything the
// original document had people invent by hand (a database name that does not
// reveal the customer, passwords, domains, bucket, prefix) is generated here.
import { existsSync } from 'node:fs';
import { Document, isScalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { stackName, databaseFor } from '../../compose/instance.js';
import { OdpError, type Problem } from '../../errors.js';
import { writeFileAtomic } from '../../platformdir/atomic-write.js';
import { loadPlatformDir, projectFile, secretsFile } from '../../platformdir/load.js';
import { Secret } from '../../secret.js';
import { generateDatabaseName, generatePassword } from '../../secrets/generate.js';
import { newFileLock } from '../../secrets/lock.js';
import { scopedKey } from '../../secrets/scope.js';
import { writeSecrets } from '../../secrets/store.js';
import { parseSpec } from '../../platform-spec/parse.js';
import { instanceNames } from '../../platform-spec/project-schema.js';
import { projectSchema, type ProjectSpec } from '../../platform-spec/project-schema.js';
import { forbiddenTokens } from '../../platform-spec/rules/naming.js';
import { own } from '../../platform-spec/own.js';

import { isPlaceholderImage, PLACEHOLDER_REGISTRY } from '../../platform-spec/placeholder-image.js';

export { isPlaceholderImage, PLACEHOLDER_REGISTRY };

// The embedded S3 server (images/s3rver) accepts its default credentials; with
// it, the storage keys are known and written for the user instead of asked.
const EMBEDDED_S3_KEYS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
const STORAGE_KEYS = Object.keys(EMBEDDED_S3_KEYS);

export interface NewProjectOptions {
  client: string;
  plan: string;
  image?: string;
  /** Checked by the schema: camptocamp or official. */
  flavour: string;
  series: string;
  version?: string;
  dryRun?: boolean;
  passphraseFile?: string;
  keyFile?: string;
}

/** Something `project new` could not know: the user fills it in, the way `how` says. */
export interface ToFill {
  what: string;
  /** A file:line to edit, or the exact command to run. */
  how: string;
}

export interface NewProjectResult {
  file: string;
  yaml: string;
  database: string;
  domains: Record<string, string>;
  buckets: Record<string, string>;
  secretKeys: string[];
  image: string;
  imageIsPlaceholder: boolean;
  toFill: ToFill[];
  written: boolean;
}

export async function newProject(
  dir: string,
  name: string,
  opts: NewProjectOptions,
): Promise<NewProjectResult> {
  // Every option that becomes spec is checked by the schema first, with placeholder
  // generated values: a bad --image or --client is refused before anything is read.
  const version = opts.version ?? `${opts.series}.0`;
  const image = opts.image ?? `${PLACEHOLDER_REGISTRY}/${name.replace(/-/g, '_')}_odoo`;
  const optionData = { ...opts, name, image, version };
  const buckets = { integration: stackName({ name }, 'integration'), prod: stackName({ name }, 'prod') };
  const placeholder = {
    test: 'test.example.com',
    integration: 'integration.example.com',
    prod: 'example.com',
  };
  validateOptions(projectData({ ...optionData, database: 'placeholder', domains: placeholder, buckets }));

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
  const { yaml, database, domains, secrets } = draftProject(pd.platform.domain, taken, name, opts);
  // What we write must load as what was validated: read back, it gives the same project.
  parseSpec(file, yaml, projectSchema);

  const toFill: ToFill[] = [];
  if (pd.platform.services.storage.embedded) {
    for (const [k, v] of Object.entries(EMBEDDED_S3_KEYS)) secrets.set(k, new Secret(v));
  } else {
    // Integration and prod keep attachments in the platform's S3: keys only the user has.
    for (const inst of ['integration', 'prod'] as const) {
      for (const key of STORAGE_KEYS) {
        toFill.push({
          what: `${inst}'s ${key} for ${pd.platform.services.storage.endpoint}`,
          how: `odp secrets set ${name} ${key} --instance ${inst} --stdin`,
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
  };
  if (opts.dryRun) return result;

  const lock = await newFileLock(dir, opts, `new ${secretsFile(dir, name)}`);
  // Secrets first: if they cannot be written, no project file points at missing secrets.
  await writeSecrets(secretsFile(dir, name), secrets, lock);
  await writeFileAtomic(file, yaml);
  return { ...result, written: true };
}

/** Names already used on the platform, which a new project must not reuse. */
export interface TakenNames {
  databases: Set<string>;
  domains: Set<string>;
}

export interface ProjectDraft {
  yaml: string;
  database: string;
  domains: Record<'test' | 'integration' | 'prod', string>;
  buckets: Record<'integration' | 'prod', string>;
  secrets: Map<string, Secret>;
}

/**
 * The project file and generated passwords of a new project, written nowhere:
 * `odp project new` writes them, and bench/fleet.ts makes a thousand with it.
 */
export function draftProject(
  platformDomain: string,
  taken: TakenNames,
  name: string,
  opts: Pick<NewProjectOptions, 'client' | 'plan' | 'image' | 'flavour' | 'series' | 'version'>,
): ProjectDraft {
  const version = opts.version ?? `${opts.series}.0`;
  const image = opts.image ?? `${PLACEHOLDER_REGISTRY}/${name.replace(/-/g, '_')}_odoo`;
  const buckets = { integration: stackName({ name }, 'integration'), prod: stackName({ name }, 'prod') };
  const database = generateDatabaseName({
    forbidden: forbiddenTokens(opts.client, name),
    existing: taken.databases,
  });
  const domains = {
    test: `test.${name}.${platformDomain}`,
    integration: `integration.${name}.${platformDomain}`,
    prod: `${name}.${platformDomain}`,
  };
  const clash = Object.values(domains).find((d) => taken.domains.has(d));
  if (clash) throw new OdpError('ALREADY_EXISTS', `domain ${clash} is already used by another project`);

  const input = { ...opts, name, image, version, database, domains, buckets };
  const data = projectData(input);
  validateOptions(data);
  const yaml = projectYaml(data, input);

  const secrets = new Map<string, Secret>();
  for (const inst of instanceNames) {
    secrets.set(scopedKey(inst, 'DB_PASSWORD'), new Secret(generatePassword()));
    secrets.set(scopedKey(inst, 'ADMIN_PASSWD'), new Secret(generatePassword()));
  }
  return { yaml, database, domains, buckets, secrets };
}

interface ProjectInput {
  name: string;
  client: string;
  image: string;
  flavour: string;
  series: string;
  plan: string;
  version: string;
  database: string;
  domains: Record<'test' | 'integration' | 'prod', string>;
  buckets: Record<'integration' | 'prod', string>;
}

/** The spec as data: every option is a value in it, never text pasted into YAML. */
function projectData(i: ProjectInput): Record<string, unknown> {
  return {
    name: i.name,
    client: i.client,
    image: i.image,
    flavour: i.flavour,
    odooSeries: i.series,
    serverWideModules: ['web', 'attachment_s3', 'session_redis', 'logging_json'],
    plan: i.plan,
    instances: {
      test: { domain: i.domains.test },
      integration: {
        domain: i.domains.integration,
        version: i.version,
        bucket: i.buckets.integration,
        redisPrefix: i.buckets.integration,
      },
      prod: {
        domain: i.domains.prod,
        version: i.version,
        database: i.database,
        bucket: i.buckets.prod,
        redisPrefix: i.buckets.prod,
      },
    },
  };
}

/** Which option gave each top-level field, to say what to fix. */
const OPTION_OF: Record<string, string> = {
  name: 'NAME',
  client: '--client',
  image: '--image',
  flavour: '--flavour',
  odooSeries: '--series',
  plan: '--plan',
  version: '--version',
  domain: 'NAME (with the platform domain)',
  bucket: 'NAME',
  redisPrefix: 'NAME',
};

/** The options, checked by the project schema itself before anything is read or written. */
function validateOptions(data: Record<string, unknown>): ProjectSpec {
  const r = projectSchema.safeParse(data);
  if (r.success) return r.data;
  const problems: Problem[] = r.error.issues.map((i) => {
    const field = String(i.path[0] === 'instances' ? (i.path[2] ?? 'instances') : (i.path[0] ?? ''));
    return { message: i.message, path: own(OPTION_OF, field) ?? field };
  });
  throw new OdpError('USAGE', 'these options do not make a valid project', {
    problems,
    hint: 'Fix the options above; nothing was written.',
  });
}

/** The YAML of the new project, made by the yaml library with the comments a newcomer needs. */
function projectYaml(data: Record<string, unknown>, i: ProjectInput): string {
  const doc = new Document(data);
  doc.commentBefore = ` Project ${i.name}: made by \`odp project new\`. Secrets are in ${i.name}.env.gpg.`;
  (doc.get('serverWideModules', true) as YAMLSeq).flow = true;
  comment(doc, ['image'], ' The image CI builds: tagged latest on master, X.Y.Z on a release tag.');
  comment(
    doc,
    ['instances', 'test', 'domain'],
    ' Rebuilt from scratch with a small data set after every commit on master.',
  );
  comment(
    doc,
    ['instances', 'integration', 'bucket'],
    ` database: ${i.database}_integration (the prod name, suffixed)`,
  );
  comment(
    doc,
    ['instances', 'prod', 'database'],
    " Random, and never the customer's name: customers can list the databases.",
  );
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function comment(doc: Document, path: string[], text: string): void {
  const parent = doc.getIn(path.slice(0, -1), true) as YAMLMap;
  const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[path.length - 1]);
  if (pair && isScalar(pair.key)) pair.key.commentBefore = text;
}
