// projects/<name>.yaml: one customer project and its three instances. Every field
// says what it is: `odp schema` gives editors the texts and
// docs/reference/project-yaml.md is generated from them.
import * as z from 'zod';
import { bucketName, databaseName, envMap, hostname, slug, text, version } from './common.js';

export { instanceNames, type InstanceName } from './instance-names.js';

/** Marabunta's modes are short names (demo, full, prod…) read by the image's migration. */
const marabuntaMode = z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, 'expected a mode name such as demo or full');

const instanceCommon = {
  domain: hostname.describe(
    "The instance's domain, unique on the platform: the edge routes it and asks ACME for its certificate.",
  ),
  plan: slug.optional().meta({
    description: 'Overrides the project plan (test defaults to the platform testPlan).',
    examples: ['large'],
  }),
  env: envMap.default({}).meta({
    description: 'Extra or overridden Odoo environment variables (not secrets), set after the computed ones.',
    examples: [{ LOG_LEVEL: 'debug' }],
  }),
  redisPrefix: text(100)
    .optional()
    .meta({
      description: 'Session key prefix; defaults to <project>-odoo-<instance>.',
      examples: ['acme-odoo-staging'],
    }),
};

const testInstance = z.strictObject({
  ...instanceCommon,
  tag: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'expected an image tag such as latest or 16.0.1')
    .default('latest')
    .describe('Image tag; test follows master (latest). `odp deploy PROJECT test --tag` overrides it.'),
  database: databaseName.default('odoodb').describe("The database in the test instance's own PostgreSQL."),
  dbUser: databaseName.default('odoo').describe('Its PostgreSQL user.'),
  marabuntaMode: marabuntaMode
    .default('demo')
    .describe('MARABUNTA_MODE: the small data set loaded on every rebuild.'),
});

const pinnedInstance = z.strictObject({
  ...instanceCommon,
  version: z
    .union([version, z.literal('latest')])
    .describe(
      'Pinned image version (X.Y.Z or series.X.Y.Z); a deploy writes the version it deployed back here. `odp check` refuses latest.',
    ),
  database: databaseName.optional().meta({
    description:
      "Database on the shared server; prod needs one (`odp project new` makes it up), integration defaults to prod's suffixed _integration.",
    examples: ['coastal_oak_5654'],
  }),
  dbUser: databaseName
    .optional()
    .meta({ description: 'PostgreSQL role; defaults to the database name.', examples: ['coastal_oak_5654'] }),
  marabuntaMode: marabuntaMode.default('full').describe('MARABUNTA_MODE: the data set the migration loads.'),
  bucket: bucketName.optional().meta({
    description: 'Attachment bucket; defaults to <project>-odoo-<instance>.',
    examples: ['neomedical-odoo-prod'],
  }),
  replicas: z
    .number()
    .int()
    .min(1)
    .max(32)
    .optional()
    .meta({
      description:
        'Odoo units, each with its nginx sidecar; defaults to one per host labelled application+production for prod, 1 for integration.',
      examples: [2],
    }),
});

export const projectSchema = z
  .strictObject({
    name: slug.describe(
      "The project's name, the same as its file's (projects/<name>.yaml); its stacks are <name>-odoo-<instance>.",
    ),
    client: text(100).describe("The customer's name; never part of a database name."),
    image: z
      .string()
      .max(255, 'at most 255 characters')
      .regex(/^[a-z0-9]+([._/:-][a-z0-9]+)*$/, 'expected an image repository without tag')
      .describe(
        "Image repository of the project's Odoo, without tag: test runs its tag, integration and prod their version.",
      ),
    repository: z
      .string()
      .regex(
        /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(\/[A-Za-z0-9_.-]+){2,}$/,
        'expected a source repository such as github.com/acme/neomedical-odoo',
      )
      .optional()
      .meta({
        description: "The project's source repository; its webhooks (odp serve) deploy the test instance.",
        examples: ['github.com/acme/neomedical-odoo'],
      }),
    flavour: z
      .enum(['camptocamp', 'official'])
      .default('camptocamp')
      .describe(
        'camptocamp: an image built on camptocamp/docker-odoo-project, configured by variables; official: the odoo image, by command-line options.',
      ),
    odooSeries: z
      .string()
      .regex(/^\d+\.\d$/, 'expected an Odoo series such as 16.0')
      .describe("The Odoo series of the project's image (`odp project new --series`)."),
    serverWideModules: z
      .array(z.string().regex(/^[a-z0-9_]{1,64}$/, 'expected an Odoo module name'))
      .max(100)
      .default([])
      .describe('Odoo modules loaded server-wide (--load).'),
    plan: slug.describe('Plan (under plans in platform.yaml) of integration and prod.'),
    statsdCustomer: text(100)
      .optional()
      .meta({ description: 'STATSD_CUSTOMER; defaults to <name>_odoo.', examples: ['neomedical_odoo'] }),
    instances: z
      .strictObject({
        test: testInstance
          .optional()
          .describe(
            'Rebuilt from scratch, with its own PostgreSQL and Redis, when a deploy changes anything.',
          ),
        integration: pinnedInstance
          .optional()
          .describe("The customer's data, to try a release: the shared integration services."),
        prod: pinnedInstance.optional().describe('Production: the shared PostgreSQL cluster and Redis.'),
      })
      .describe("The project's instances; each is optional."),
  })
  .describe('odp projects/<name>.yaml');

export type ProjectSpec = z.output<typeof projectSchema>;
export type TestInstanceSpec = z.output<typeof testInstance>;
export type PinnedInstanceSpec = z.output<typeof pinnedInstance>;
