// The project file and generated passwords of a new project, written nowhere:
// `odp project new` writes them (project-new.ts), bench/fleet.ts makes a
// thousand. Every option is a value in the spec, validated by the project
// schema, and the YAML is made by the yaml library with the comments a
// newcomer needs.
import { Document, isScalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { stackName } from '../../compose/instance.js';
import { OdpError, type Problem } from '../../errors.js';
import { Secret } from '../../secret.js';
import { generateDatabaseName, generatePassword } from '../../secrets/generate.js';
import { scopedKey } from '../../secrets/scope.js';
import { instanceNames, projectSchema, type ProjectSpec } from '../../platform-spec/project-schema.js';
import { forbiddenTokens } from '../../platform-spec/rules/naming.js';
import { own } from '../../platform-spec/own.js';
import { PLACEHOLDER_REGISTRY } from '../../platform-spec/placeholder-image.js';
import { schemaModeline } from '../../platform-spec/schema-modeline.js';

/** The options of `project new` that become spec. */
export interface DraftOptions {
  client: string;
  plan: string;
  image?: string;
  /** Checked by the schema: camptocamp or official. */
  flavour: string;
  series: string;
  version?: string;
}

/**
 * What a dry run shows for the database name: it is drawn at random when the
 * file is written, so no name shown before could be the one written (0065).
 */
export const DRAWN_WHEN_WRITTEN = '<random>';

/** What follows from the name and the options alone: checked before anything is read. */
export function derived(name: string, opts: DraftOptions) {
  return {
    version: opts.version ?? `${opts.series}.0`,
    image: opts.image ?? `${PLACEHOLDER_REGISTRY}/${name.replace(/-/g, '_')}_odoo`,
    buckets: { integration: stackName({ name }, 'integration'), prod: stackName({ name }, 'prod') },
  };
}

/** Names already used on the platform, which a new project must not reuse. */
export interface TakenNames {
  databases: Set<string>;
  domains: Set<string>;
}

export interface ProjectDraft {
  yaml: string;
  /** The same file with the random database name as DRAWN_WHEN_WRITTEN: what a dry run shows. */
  preview: () => string;
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
  opts: DraftOptions,
): ProjectDraft {
  const { version, image, buckets } = derived(name, opts);
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
  validateOptions(projectData(input));
  const yaml = projectYaml(input);

  const secrets = new Map<string, Secret>();
  for (const inst of instanceNames) {
    secrets.set(scopedKey(inst, 'DB_PASSWORD'), new Secret(generatePassword()));
    secrets.set(scopedKey(inst, 'ADMIN_PASSWD'), new Secret(generatePassword()));
  }
  const preview = () => projectYaml({ ...input, database: DRAWN_WHEN_WRITTEN });
  return { yaml, preview, database, domains, buckets, secrets };
}

export interface ProjectInput {
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
export function projectData(i: ProjectInput): Record<string, unknown> {
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
export function validateOptions(data: Record<string, unknown>): ProjectSpec {
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
function projectYaml(i: ProjectInput): string {
  const doc = new Document(projectData(i));
  doc.commentBefore = ` ${schemaModeline('project')}\n Project ${i.name}: made by \`odp project new\`. Secrets are in ${i.name}.env.gpg.`;
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
