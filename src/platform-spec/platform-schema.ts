// platform.yaml: the hosts, the shared services, ACME, customer plans and the
// images of the platform's own services. One per platform directory.
// Every field says what it is (`.describe`, or `.meta` with examples): `odp schema`
// gives editors the texts and docs/reference/platform-yaml.md is generated from them.
import * as z from 'zod';
import { parseRegistryUrl } from '../model/image-ref.js';
import { backupsSchema, planBackupsSchema } from './backups-schema.js';
import { hostname, port, slug, text, word } from './common.js';

const label = z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a label such as application or production');

export const hostSchema = z.strictObject({
  address: word(253)
    .optional()
    .describe(
      "The host's IP address or DNS name. On a swarm, a node reporting this address is this host until `odp hosts sync` labels it.",
    ),
  docker: z
    .string()
    .regex(/^(ssh|tcp|unix):\/\/\S+$/, 'expected ssh://user@host, tcp://host:port or unix:///path')
    .optional()
    .meta({
      description:
        "Where odp reaches this host's own Docker Engine, written as DOCKER_HOST is (tcp:// uses DOCKER_TLS_VERIFY and DOCKER_CERT_PATH; ssh:// the SSH agent). On a swarm, what Swarm does not do across nodes goes through it: exec into a task (backups, restores, the edge's control), the readiness probe, removing a volume. Without it, only tasks on the manager's node are reached.",
      examples: ['ssh://root@10.0.1.12', 'tcp://10.0.1.12:2376'],
    }),
  datacentre: text(100).describe('Data centre name; the replica must sit in another one.'),
  labels: z
    .array(label)
    .default([])
    .describe(
      'Scheduling labels: integration runs on hosts labelled application+integration, prod on ' +
        'application+production (by default one Odoo replica per such host).',
    ),
});

const hostRef = (what: string) => slug.describe(`The host (under hosts) that runs ${what}.`);

const postgresCluster = z
  .strictObject({
    primary: hostRef('the primary'),
    replica: hostRef('the read-only streaming replica, in another data centre than the primary')
      .optional()
      .meta({ examples: ['db2'] }),
    port: port
      .default(5432)
      .describe("DB_PORT given to prod's Odoo (odp's PostgreSQL unit listens on 5432)."),
  })
  .describe("Prod's PostgreSQL cluster: a primary and an optional streaming replica.");

const standalone = (what: string, defaultPort: number, portText: string) =>
  z.strictObject({ host: hostRef(what), port: port.default(defaultPort).describe(portText) });

const storage = z
  .strictObject({
    endpoint: z
      .url()
      .describe(
        'S3-compatible endpoint (AWS, Exoscale, MinIO); with embedded, where this host reaches the embedded server.',
      ),
    region: word(64).default('us-east-1').describe('Region of the buckets.'),
    embedded: z
      .boolean()
      .default(false)
      .describe(
        'Run the embedded S3-compatible server (images.s3) on this host; Odoo reaches it as s3:4569.',
      ),
  })
  .describe("Object storage for integration's and prod's attachments and for the backups.");

const edge = z
  .strictObject({
    hosts: z
      .array(hostRef('the edge'))
      .min(1)
      .describe(
        'The hosts that run the edge (at least one). On a swarm, one edge runs on each, kept in step by odp (behind DNS or a floating address); on one Docker engine, one edge.',
      ),
    bind: word(253)
      .default('0.0.0.0')
      .meta({ description: "Host address the edge's ports are published on.", examples: ['127.0.0.1'] }),
    httpPort: port
      .default(80)
      .describe('Host port for HTTP: ACME challenges; everything else is redirected to HTTPS.'),
    httpsPort: port.default(443).describe('Host port for HTTPS.'),
  })
  .describe(
    "The HTTPS edge (HAProxy): routes each instance's domain to its nginx, terminates TLS, answers ACME challenges.",
  );

const statsd = z
  .strictObject({
    host: word(253).describe('Address of the StatsD server (STATSD_HOST).'),
    port: port.default(8125).describe('Its port (STATSD_PORT).'),
  })
  .describe("A StatsD server that prod's Odoo sends metrics to (ODOO_STATSD=1); none without it.");

export const servicesSchema = z
  .strictObject({
    postgres: postgresCluster,
    postgresIntegration: standalone(
      'the server',
      5432,
      "DB_PORT given to integration's Odoo (odp's PostgreSQL unit listens on 5432).",
    ).describe('The standalone PostgreSQL server of integration instances.'),
    redis: standalone(
      'the server',
      6379,
      'No command reads it yet: the Redis unit listens on 6379, where Odoo reaches it as `redis`.',
    ).describe("Redis for prod's sessions (append-only, so sessions survive a restart)."),
    redisIntegration: standalone(
      'the server',
      6379,
      'No command reads it yet: the Redis unit listens on 6379, where Odoo reaches it as `redis`.',
    ).describe("Redis for integration's sessions."),
    storage,
    edge,
    statsd: statsd.optional(),
  })
  .describe(
    'The shared services of integration and prod (a test instance runs its own PostgreSQL and Redis).',
  );

const acme = z
  .strictObject({
    directory: z
      .url()
      .default('https://acme-v02.api.letsencrypt.org/directory')
      .describe('ACME v2 directory URL; a certificate held from another directory is requested again.'),
    email: z.email().describe('Contact email of the ACME account.'),
    challenge: z
      .enum(['http-01', 'dns-01'])
      .default('http-01')
      .describe('http-01: answered by the edge on httpPort; dns-01: a TXT record set through dnsProvider.'),
    dnsProvider: z
      .enum(['route53'])
      .optional()
      .meta({
        description: "DNS API for dns-01: route53 (credentials from the AWS SDK's default chain).",
        examples: ['route53'],
      }),
    renewBeforeDays: z
      .number()
      .int()
      .min(1)
      .max(60)
      .optional()
      .describe(
        "A certificate is renewed when fewer days than this are left (`odp certs renew`, `odp serve`). Unset: when a third of the certificate's own lifetime is left (30 days of a 90-day certificate, 15 of a 45-day one).",
      ),
    caFile: text(4096)
      .optional()
      .meta({
        description:
          "CA bundle (PEM, relative to the platform directory) trusting a private ACME server's HTTPS (step-ca, Pebble).",
        examples: ['pebble.minica.pem'],
      }),
    verifyChallenges: z
      .boolean()
      .default(true)
      .describe(
        'Check each challenge from this host before asking the CA (off for test CAs with their own DNS).',
      ),
  })
  .describe("Certificates for every instance domain, from an ACME v2 CA (Let's Encrypt by default).");

export const planSchema = z.strictObject({
  workers: z.number().int().min(0).max(64).describe("WORKERS: Odoo's HTTP worker processes."),
  cronThreads: z
    .number()
    .int()
    .min(0)
    .max(16)
    .describe('MAX_CRON_THREADS: threads running scheduled actions.'),
  memorySoft: z
    .number()
    .int()
    .positive()
    .describe('LIMIT_MEMORY_SOFT: bytes a worker may use before it is recycled.'),
  memoryHard: z.number().int().positive().describe('LIMIT_MEMORY_HARD: bytes at which a worker is killed.'),
  limitRequest: z
    .number()
    .int()
    .positive()
    .default(8192)
    .describe('LIMIT_REQUEST: requests a worker serves before it is recycled.'),
  timeCpu: z.number().int().positive().default(86400).describe('LIMIT_TIME_CPU: CPU seconds per request.'),
  timeReal: z.number().int().positive().default(86400).describe('LIMIT_TIME_REAL: seconds per request.'),
  dbMaxConn: z
    .number()
    .int()
    .positive()
    .default(5)
    .describe('DB_MAXCONN: database connections per Odoo process.'),
  backups: planBackupsSchema.optional(),
});

const image = (what: string, defaultImage: string) => word(255).default(defaultImage).describe(what);

export const imagesSchema = z
  .strictObject({
    postgres: image("PostgreSQL: the shared servers and each test instance's own.", 'odp/postgres:15'),
    redis: image("Redis: the shared servers and each test instance's own.", 'odp/redis:7'),
    nginx: image('The nginx sidecar beside every Odoo unit.', 'odp/nginx:1.22'),
    haproxy: image('The edge.', 'odp/haproxy:2.6'),
    s3: image('The embedded S3-compatible server (storage.embedded).', 'odp/s3rver:3'),
  })
  .describe(
    "Images of the platform's own services; `odp images build` builds the odp/* defaults from Debian.",
  );

/** The platform secret (platform.env.gpg) holding the registry user's password. */
export const REGISTRY_PASSWORD_KEY = 'REGISTRY_PASSWORD';

export const registrySchema = z
  .strictObject({
    url: word(255)
      .superRefine((url, ctx) => {
        const r = parseRegistryUrl(url);
        if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
      })
      .meta({
        description:
          'HOST[:PORT][/PREFIX] of the registry, no scheme: `odp images push` pushes each image as <url>/<repository>:<tag>, and a swarm runs it from there by digest.',
        examples: ['registry.example.com:5000', '127.0.0.1:5000/odp'],
      }),
    username: word(255)
      .optional()
      .meta({
        description: `The registry user; its password is the platform secret ${REGISTRY_PASSWORD_KEY} (\`odp platform secrets set ${REGISTRY_PASSWORD_KEY} --stdin\`). None: anonymous.`,
        examples: ['odp'],
      }),
  })
  .describe(
    "Where a swarm's nodes get the platform's images (`odp images push`); the docker engine ignores it. None: each node runs the copy it holds.",
  );

/** A schedule window's opening (HH:MM, UTC) and its length in hours. */
const windowStart = (at: string) =>
  z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day, HH:MM (UTC)')
    .default(at);
const windowHours = () => z.number().int().min(1).max(12).default(4);

export const scheduleSchema = z.strictObject({
  backups: z
    .strictObject({
      at: windowStart('01:00').describe('When the nightly backup window opens, UTC (HH:MM).'),
      hours: windowHours().describe(
        "The window's length in hours: each instance's backup starts at a time of its own inside it, the same every night.",
      ),
    })
    .default({ at: '01:00', hours: 4 })
    .describe('Nightly backups of every integration and prod instance, run by `odp serve` (`odp schedule`).'),
  drills: z
    .strictObject({
      day: z
        .enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'])
        .default('sunday')
        .describe('The day of the week the restore drills run, UTC.'),
      at: windowStart('02:00').describe('When the weekly restore-drill window opens, UTC (HH:MM).'),
      hours: windowHours().describe(
        "The window's length in hours: each project's drill starts at a time of its own inside it, the same every week.",
      ),
    })
    .default({ day: 'sunday', at: '02:00', hours: 4 })
    .describe(
      "A weekly restore drill per project (`odp drill`): its prod instance's newest backup (integration's without prod) restored into a scratch database and checked, run by `odp serve`; a failed drill fails the job `restore-drill:<project>`, which alerts.",
    ),
});

export const branchesSchema = z.strictObject({
  expireAfterHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 365)
    .default(72)
    .describe(
      'A branch instance without a new deploy for this long is removed by `odp branches expire` (hourly under `odp serve`).',
    ),
});

export const platformSchema = z
  .strictObject({
    name: slug.describe(
      "The platform's name: it names the shared services' stack (<name>-shared), their networks and the default backups bucket.",
    ),
    domain: hostname.describe(
      'Parent domain: `odp project new` names instances test.<project>.<domain>, integration.<project>.<domain> and <project>.<domain>.',
    ),
    hosts: z
      .record(slug, hostSchema)
      .refine((h) => Object.keys(h).length > 0, 'declare at least one host')
      .describe(
        "The machines, by name (at least one). The docker engine runs everything on its one host; hosts feed `odp check`'s rules, prod's replica count and `odp render --format rancher`.",
      ),
    services: servicesSchema,
    acme,
    plans: z
      .record(slug, planSchema)
      .refine((p) => Object.keys(p).length > 0, 'declare at least one plan')
      .describe(
        'Customer plans, by name (at least one): Odoo workers and limits, given to Odoo as its variables.',
      ),
    testPlan: slug.default('test').describe('Plan used by every test instance unless it names its own.'),
    images: imagesSchema.default(imagesSchema.parse({})),
    engine: z
      .enum(['docker', 'swarm'])
      .default('docker')
      .describe(
        "What runs the units: docker (one host), or swarm: the hosts are the nodes of a Docker Swarm (`odp hosts`; units run as Swarm services, placed by the hosts' labels; what Swarm does not do across nodes goes through each host's `docker` address: docs/swarm.md).",
      ),
    registry: registrySchema.optional(),
    offlineImages: z
      .boolean()
      .default(false)
      .describe(
        "On a swarm without a registry: before each service is made, odp copies its image from the manager onto every node that may run it and lacks it, through the hosts' `docker` addresses. Not with `registry:`.",
      ),
    backups: backupsSchema.default(backupsSchema.parse({})),
    schedule: scheduleSchema
      .default(scheduleSchema.parse({}))
      .describe('The scheduled work `odp serve` runs (`odp schedule` lists it).'),
    branches: branchesSchema
      .default(branchesSchema.parse({}))
      .describe('Ephemeral test instances, one per git branch (`odp deploy PROJECT test --branch`).'),
  })
  .describe('odp platform.yaml');

export type PlatformSpec = z.output<typeof platformSchema>;
export type HostSpec = z.output<typeof hostSchema>;
export type PlanSpec = z.output<typeof planSchema>;
