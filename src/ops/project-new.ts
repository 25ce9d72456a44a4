// `odp project new`: onboard a customer project in one command. Everything the
// original document had people invent by hand (a database name that does not
// reveal the customer, passwords, domains, bucket, prefix) is generated here.
import { existsSync } from 'node:fs';
import { stackName, databaseFor } from '../compose/instance.js';
import { OdpError } from '../errors.js';
import { writeFileAtomic } from '../platformdir/atomic-write.js';
import { loadPlatformDir, projectFile, secretsFile } from '../platformdir/load.js';
import { Secret } from '../secret.js';
import { generateDatabaseName, generatePassword } from '../secrets/generate.js';
import { getPassphrase } from '../secrets/passphrase.js';
import { scopedKey } from '../secrets/scope.js';
import { writeSecrets } from '../secrets/store.js';
import { parseSpec } from '../spec/parse.js';
import { instanceNames } from '../spec/project-schema.js';
import { projectSchema } from '../spec/project-schema.js';
import { forbiddenTokens } from '../spec/rules/naming.js';

export interface NewProjectOptions {
  client: string;
  plan: string;
  image?: string;
  flavour: 'camptocamp' | 'official';
  series: string;
  version?: string;
  dryRun?: boolean;
  passphraseFile?: string;
}

export interface NewProjectResult {
  file: string;
  yaml: string;
  database: string;
  domains: Record<string, string>;
  buckets: Record<string, string>;
  secretKeys: string[];
  written: boolean;
}

export async function newProject(
  dir: string,
  name: string,
  opts: NewProjectOptions,
): Promise<NewProjectResult> {
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
  if (!pd.platform.plans[opts.plan]) {
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
  const { yaml, database, domains, buckets, secrets } = draftProject(pd.platform.domain, taken, name, opts);
  // What we write must load: a template that drifted from the schema fails here, not later.
  parseSpec(file, yaml, projectSchema);

  const result = { file, yaml, database, domains, buckets, secretKeys: [...secrets.keys()], written: false };
  if (opts.dryRun) return result;

  const passphrase = await getPassphrase({ passphraseFile: opts.passphraseFile, confirm: true });
  // Secrets first: if they cannot be written, no project file points at missing secrets.
  await writeSecrets(secretsFile(dir, name), secrets, passphrase);
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
 * The project file and generated secrets of a new project, written nowhere:
 * `odp project new` writes them, and bench/fleet.ts makes a thousand with it.
 */
export function draftProject(
  platformDomain: string,
  taken: TakenNames,
  name: string,
  opts: Pick<NewProjectOptions, 'client' | 'plan' | 'image' | 'flavour' | 'series' | 'version'>,
): ProjectDraft {
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

  const version = opts.version ?? `${opts.series}.0`;
  const image = opts.image ?? `registry.example.com/${name.replace(/-/g, '_')}_odoo`;
  const buckets = { integration: stackName({ name }, 'integration'), prod: stackName({ name }, 'prod') };
  const yaml = projectYaml({ ...opts, name, image, version, database, domains, buckets });

  const secrets = new Map<string, Secret>();
  for (const inst of instanceNames) {
    secrets.set(scopedKey(inst, 'DB_PASSWORD'), new Secret(generatePassword()));
    secrets.set(scopedKey(inst, 'ADMIN_PASSWD'), new Secret(generatePassword()));
  }
  return { yaml, database, domains, buckets, secrets };
}

interface YamlInput {
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

function projectYaml(i: YamlInput): string {
  const q = (s: string) => JSON.stringify(s);
  return `# Project ${i.name}: made by \`odp project new\`. Secrets are in ${i.name}.env.gpg.
name: ${i.name}
client: ${q(i.client)}
# The image CI builds: tagged latest on master, X.Y.Z on a release tag.
image: ${i.image}
flavour: ${i.flavour}
odooSeries: ${q(i.series)}
serverWideModules: [web, attachment_s3, session_redis, logging_json]
plan: ${i.plan}
instances:
  test:
    # Rebuilt from scratch with a small data set after every commit on master.
    domain: ${i.domains.test}
  integration:
    domain: ${i.domains.integration}
    version: ${i.version}
    # database: ${i.database}_integration (the prod name, suffixed)
    bucket: ${i.buckets.integration}
    redisPrefix: ${i.buckets.integration}
  prod:
    domain: ${i.domains.prod}
    version: ${i.version}
    # Random, and never the customer's name: customers can list the databases.
    database: ${i.database}
    bucket: ${i.buckets.prod}
    redisPrefix: ${i.buckets.prod}
`;
}
