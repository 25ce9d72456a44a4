// platform.yaml: the hosts, the shared services, ACME, customer plans and the
// images of the platform's own services. One per platform directory.
import * as z from 'zod';
import { hostname, port, slug, text, word } from './common.js';

const label = z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a label such as application or production');

export const hostSchema = z.strictObject({
  address: word(253).optional().describe('How other hosts reach this one (IP or DNS name).'),
  datacentre: text(100).describe('Data centre name; the replica must sit in another one.'),
  labels: z
    .array(label)
    .default([])
    .describe('Scheduling labels: application, production, integration, database…'),
});

const hostRef = slug.describe('A host name declared under hosts.');

const postgresCluster = z.strictObject({
  primary: hostRef,
  replica: hostRef.optional(),
  port: port.default(5432),
});

const standalone = (defaultPort: number) =>
  z.strictObject({ host: hostRef, port: port.default(defaultPort) });

const storage = z.strictObject({
  endpoint: z.url().describe('S3-compatible endpoint (AWS, Exoscale, MinIO, the embedded server).'),
  region: word(64).default('us-east-1'),
  embedded: z.boolean().default(false).describe('Run the embedded local S3-compatible server (single host).'),
});

const edge = z.strictObject({
  hosts: z.array(hostRef).min(1),
  bind: word(253).default('0.0.0.0').describe('Address the edge listens on.'),
  httpPort: port.default(80),
  httpsPort: port.default(443),
});

const statsd = z.strictObject({ host: word(253), port: port.default(8125) });

export const servicesSchema = z.strictObject({
  postgres: postgresCluster,
  postgresIntegration: standalone(5432),
  redis: standalone(6379),
  redisIntegration: standalone(6379),
  storage,
  edge,
  statsd: statsd.optional(),
});

const acme = z.strictObject({
  directory: z.url().default('https://acme-v02.api.letsencrypt.org/directory'),
  email: z.email(),
  challenge: z.enum(['http-01', 'dns-01']).default('http-01'),
  dnsProvider: z.enum(['route53']).optional(),
  renewBeforeDays: z.number().int().min(1).max(60).default(30),
  caFile: text(4096)
    .optional()
    .describe("CA bundle trusting a private ACME server's HTTPS (step-ca, Pebble)."),
  verifyChallenges: z
    .boolean()
    .default(true)
    .describe(
      'Check each challenge from this host before asking the CA (off for test CAs with their own DNS).',
    ),
});

export const planSchema = z.strictObject({
  workers: z.number().int().min(0).max(64),
  cronThreads: z.number().int().min(0).max(16),
  memorySoft: z.number().int().positive().describe('LIMIT_MEMORY_SOFT, bytes'),
  memoryHard: z.number().int().positive().describe('LIMIT_MEMORY_HARD, bytes'),
  limitRequest: z.number().int().positive().default(8192),
  timeCpu: z.number().int().positive().default(86400),
  timeReal: z.number().int().positive().default(86400),
  dbMaxConn: z.number().int().positive().default(5),
});

export const imagesSchema = z.strictObject({
  postgres: word(255).default('odp/postgres:15'),
  redis: word(255).default('odp/redis:7'),
  nginx: word(255).default('odp/nginx:1.22'),
  haproxy: word(255).default('odp/haproxy:2.6'),
  s3: word(255).default('odp/s3rver:3').describe('The embedded S3-compatible server (storage.embedded).'),
});

export const backupsSchema = z.strictObject({
  keep: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(7)
    .describe('Backups kept per instance; older ones are deleted.'),
  bucket: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'expected an S3 bucket name: 3 to 63 lower-case letters, digits, dots and dashes',
    )
    .optional()
    .describe('Where `odp backup` writes; defaults to <platform>-backups on the platform storage.'),
});

export const branchesSchema = z.strictObject({
  expireAfterHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 365)
    .default(72)
    .describe('A branch instance without a new deploy for this long is removed by `odp branches expire`.'),
});

export const platformSchema = z
  .strictObject({
    name: slug,
    domain: hostname.describe('Parent domain; instance domains default to names under it.'),
    hosts: z.record(slug, hostSchema).refine((h) => Object.keys(h).length > 0, 'declare at least one host'),
    services: servicesSchema,
    acme,
    plans: z.record(slug, planSchema).refine((p) => Object.keys(p).length > 0, 'declare at least one plan'),
    testPlan: slug.default('test').describe('Plan used by every test instance unless it names its own.'),
    images: imagesSchema.default(imagesSchema.parse({})),
    engine: z
      .enum(['docker', 'swarm'])
      .default('docker')
      .describe(
        'What runs the units: docker (one host), or swarm: the hosts are the nodes of a Docker Swarm (`odp hosts`; units on a swarm are not implemented yet).',
      ),
    backups: backupsSchema.default(backupsSchema.parse({})),
    branches: branchesSchema
      .default(branchesSchema.parse({}))
      .describe('Ephemeral test instances, one per git branch (`odp deploy PROJECT test --branch`).'),
  })
  .describe('odp platform.yaml');

export type PlatformSpec = z.output<typeof platformSchema>;
export type HostSpec = z.output<typeof hostSchema>;
export type PlanSpec = z.output<typeof planSchema>;
