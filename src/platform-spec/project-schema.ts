// projects/<name>.yaml: one customer project and its three instances.
import * as z from 'zod';
import { databaseName, envMap, hostname, slug, text, version } from './common.js';

export { instanceNames, type InstanceName } from './instance-names.js';

/** Marabunta's modes are short names (demo, full, prod…) read by the image's migration. */
const marabuntaMode = z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, 'expected a mode name such as demo or full');

const instanceCommon = {
  domain: hostname,
  plan: slug.optional().describe('Overrides the project plan (test defaults to the platform testPlan).'),
  env: envMap.default({}).describe('Extra or overridden Odoo environment variables (not secrets).'),
  redisPrefix: text(100).optional().describe('Session key prefix; defaults to <project>-odoo-<instance>.'),
};

const testInstance = z.strictObject({
  ...instanceCommon,
  tag: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'expected an image tag such as latest or 16.0.1')
    .default('latest')
    .describe('Image tag; test follows master (latest).'),
  database: databaseName.default('odoodb'),
  dbUser: databaseName.default('odoo'),
  marabuntaMode: marabuntaMode.default('demo').describe('The small data set loaded on every rebuild.'),
});

const pinnedInstance = z.strictObject({
  ...instanceCommon,
  version: z.union([version, z.literal('latest')]).describe('Pinned image version X.Y.Z.'),
  database: databaseName.optional(),
  dbUser: databaseName.optional(),
  marabuntaMode: marabuntaMode.default('full'),
  bucket: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'expected an S3 bucket name: 3 to 63 lower-case letters, digits, dots and dashes',
    )
    .optional()
    .describe('Attachment bucket; defaults to <project>-odoo-<instance>.'),
  replicas: z.number().int().min(1).max(32).optional().describe('Odoo replicas on a single Docker host.'),
});

export const projectSchema = z
  .strictObject({
    name: slug,
    client: text(100).describe("The customer's name; never part of a database name."),
    image: z
      .string()
      .max(255, 'at most 255 characters')
      .regex(/^[a-z0-9]+([._/:-][a-z0-9]+)*$/, 'expected an image repository without tag'),
    repository: z
      .string()
      .regex(
        /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(\/[A-Za-z0-9_.-]+){2,}$/,
        'expected a source repository such as github.com/acme/neomedical-odoo',
      )
      .optional()
      .describe("The project's source repository; its webhooks (odp serve) deploy the test instance."),
    flavour: z.enum(['camptocamp', 'official']).default('camptocamp'),
    odooSeries: z.string().regex(/^\d+\.\d$/, 'expected an Odoo series such as 16.0'),
    serverWideModules: z
      .array(z.string().regex(/^[a-z0-9_]{1,64}$/, 'expected an Odoo module name'))
      .max(100)
      .default([]),
    plan: slug,
    statsdCustomer: text(100).optional().describe('Defaults to <name>_odoo.'),
    instances: z.strictObject({
      test: testInstance.optional(),
      integration: pinnedInstance.optional(),
      prod: pinnedInstance.optional(),
    }),
  })
  .describe('odp projects/<name>.yaml');

export type ProjectSpec = z.output<typeof projectSchema>;
export type TestInstanceSpec = z.output<typeof testInstance>;
export type PinnedInstanceSpec = z.output<typeof pinnedInstance>;
