// Stack → the original platform's files for one instance, as the document laid
// them out: a rancher-compose v1 `docker-compose.yml` whose Odoo environment is
// `KEY=${KEY}` lines, `rancher-compose.yml` for the shared load balancer,
// `rancher.public.env` (committed) and the secret variables that go, encrypted,
// into `rancher.env.gpg`. For teams still running Rancher 1.x, and as the
// golden check that odp computes what the document had people write by hand.
import { Document, Scalar, stringify } from 'yaml';
import type { ResolvedInstance } from '../compose/instance.js';
import type { Service, Stack } from '../model/stack.js';
import { isSecret, type EnvValue, Secret } from '../secret.js';
import { secretsForInstance } from '../secrets/scope.js';
import type { PlatformSpec } from '../platform-spec/platform-schema.js';
import type { ProjectSpec } from '../platform-spec/project-schema.js';

export interface RancherFiles {
  'docker-compose.yml': string;
  'rancher-compose.yml': string;
  'rancher.public.env': string;
  /** Written as `rancher.env`, then encrypted to `rancher.env.gpg`. */
  secrets: Map<string, Secret>;
}

/** The original wrote these two as literals in docker-compose.yml, not `${VAR}`. */
const LITERAL = new Set(['MARABUNTA_ALLOW_SERIE', 'STATSD_CUSTOMER']);

/** The shared stacks each tier linked to; `db` and `redis` are the names Odoo uses. */
const EXTERNAL_LINKS: Record<'integration' | 'prod', string[]> = {
  integration: ['postgres-integration/postgres:db', 'redis-integration/redis:redis'],
  prod: ['postgres-cluster/lb:db', 'redis/redis:redis'],
};

/** rancher.public.env as the document ordered and commented it; unknown variables follow. */
const PUBLIC_LAYOUT: string[][] = [
  ['DOMAIN_NAME', 'ODOO_BASE_URL'],
  [
    'DB_USER',
    'DB_NAME',
    'DB_PORT',
    'RUNNING_ENV',
    '# number of workers to configure according to the plan of the customer',
    'WORKERS',
    'MAX_CRON_THREADS',
    'LOG_LEVEL',
    'LOG_HANDLER',
    'DB_MAXCONN',
    'LIMIT_MEMORY_SOFT',
    'LIMIT_MEMORY_HARD',
    'LIMIT_TIME_CPU',
    'LIMIT_TIME_REAL',
    'LIMIT_REQUEST',
    'DEMO',
    'MARABUNTA_MODE',
  ],
  ['AWS_HOST', 'AWS_BUCKETNAME'],
  [
    'ODOO_SESSION_REDIS',
    'ODOO_SESSION_REDIS_HOST',
    'ODOO_SESSION_REDIS_PREFIX',
    'ODOO_SESSION_REDIS_EXPIRATION',
  ],
  ['ODOO_LOGGING_JSON'],
  ['ODOO_STATSD', 'STATSD_ENVIRONMENT', 'STATSD_HOST', 'STATSD_PORT'],
  ['# when activated, platform checks are not performed, use for debug', 'ODOO_CLOUD_PLATFORM_UNSAFE'],
];

export function renderRancher(
  stack: Stack,
  inst: ResolvedInstance,
  platform: PlatformSpec,
  project: ProjectSpec,
  opts: { secrets?: ReadonlyMap<string, Secret> } = {},
): RancherFiles {
  const odoo = need(stack, 'odoo');
  const nginx = need(stack, 'nginx');
  const db = stack.services.find((s) => s.role === 'db');
  const publicVars = new Map<string, string>([['DOMAIN_NAME', stack.domain]]);
  const secrets = new Map<string, Secret>();
  const ref = (key: string, v: EnvValue): string => {
    if (isSecret(v)) secrets.set(key, v);
    else publicVars.set(key, v);
    return `\${${key}}`;
  };

  const affinity = {
    'io.rancher.scheduler.affinity:host_label': inst.placement.labels.map((l) => `${l}=true`).join(','),
  };
  const environment = [...odoo.env].map(([k, v]) =>
    LITERAL.has(k) && !isSecret(v) ? `${k}=${v.replace(/\$/g, '$$$$')}` : `${k}=${ref(k, v)}`,
  );
  const odooOut: Record<string, unknown> = { image: odoo.image };
  if (odoo.command) odooOut.command = odoo.command.map(shellArg).join(' ');
  if (inst.name === 'test') {
    // The test stack kept its database in the stack and its sessions on the
    // integration Redis; our Stack's own test Redis has no Rancher twin.
    odooOut.external_links = ['redis-integration/redis:redis'];
    odooOut.links = ['db:db'];
  } else {
    odooOut.external_links = EXTERNAL_LINKS[inst.name];
  }
  odooOut.environment = environment;
  odooOut.labels = {
    ...affinity,
    ...(inst.placement.global ? { 'io.rancher.scheduler.global': 'true' } : {}),
    'io.rancher.sidekicks': 'nginx',
  };

  const nginxDoc = new Document(
    {
      nginx: {
        image: nginx.image,
        net: 'container:odoo',
        // The original sidekick (camptocamp/odoo-nginx) is configured by NGX_* only.
        environment: [...nginx.env]
          .filter(([k]) => k.startsWith('NGX_'))
          .map(([k, v]) => `${k}=${isSecret(v) ? ref(k, v) : v}`),
        links: ['odoo:odoo'],
      },
    },
    { version: '1.1' },
  );
  (nginxDoc.getIn(['nginx', 'net'], true) as Scalar).type = Scalar.QUOTE_DOUBLE;

  const sections = [yaml({ odoo: odooOut }), nginxDoc.toString({ lineWidth: 0, singleQuote: true })];
  if (db) sections.push(yaml({ db: dbService(db, odoo, ref, affinity) }));
  sections.push(
    yaml({ letsencrypt: letsencrypt(stack, inst, platform, project, opts.secrets, ref, affinity) }),
  );

  const rancherCompose: Record<string, unknown> = {
    lb_config: { port_rules: [{ target_port: 80, hostname: '${DOMAIN_NAME}' }] },
  };
  if (!inst.placement.global && inst.placement.replicas > 1) rancherCompose.scale = inst.placement.replicas;

  return {
    'docker-compose.yml': sections.join('\n'),
    'rancher-compose.yml': yaml({ odoo: rancherCompose }),
    'rancher.public.env': publicEnv(publicVars, stack.domain),
    secrets,
  };
}

function need(stack: Stack, role: Service['role']): Service {
  const s = stack.services.find((x) => x.role === role);
  if (!s) throw new Error(`stack ${stack.name} has no ${role} service`);
  return s;
}

/** YAML 1.1 rules, as rancher-compose (go-yaml v2) reads them: `'Yes'` and `'true'` stay quoted strings. */
function yaml(value: unknown): string {
  return stringify(value, { version: '1.1', lineWidth: 0, singleQuote: true });
}

/** The test database takes its user and password from the same variables as Odoo. */
function dbService(
  db: Service,
  odoo: Service,
  ref: (k: string, v: EnvValue) => string,
  affinity: Record<string, string>,
): Record<string, unknown> {
  const same = (a: EnvValue, b: EnvValue) =>
    isSecret(a) ? isSecret(b) && a.equals(b) : !isSecret(b) && a === b && a !== '';
  const environment = [...db.env].map(([k, v]) => {
    const twin = [...odoo.env].find(([, ov]) => same(ov, v));
    if (twin) return `${k}=${ref(twin[0], twin[1])}`;
    return isSecret(v) ? `${k}=${ref(k, v)}` : `${k}=${v}`;
  });
  return {
    image: db.image,
    environment,
    volumes: db.volumes.map((v) => `${v.volume}:${v.target}`),
    labels: affinity,
  };
}

/**
 * janeczku/rancher-letsencrypt as the document configured it. Its Route53 keys
 * are referenced only when the project holds them; the HTTP-01 provider came
 * with v0.5.0, the DNS one is the document's v0.3.0.
 */
function letsencrypt(
  stack: Stack,
  inst: ResolvedInstance,
  platform: PlatformSpec,
  project: ProjectSpec,
  allSecrets: ReadonlyMap<string, Secret> | undefined,
  ref: (k: string, v: EnvValue) => string,
  affinity: Record<string, string>,
): Record<string, unknown> {
  const own = allSecrets ? secretsForInstance(allSecrets, inst.name) : new Map<string, Secret>();
  const key = (name: string): string => {
    const s = own.get(name);
    return s ? ref(name, s) : '';
  };
  const dns = platform.acme.challenge === 'dns-01';
  const api = /staging/i.test(platform.acme.directory) ? 'Sandbox' : 'Production';
  return {
    environment: {
      API_VERSION: api,
      AWS_ACCESS_KEY: key('LETSENCRYPT_AWS_ACCESS_KEY'),
      AWS_SECRET_KEY: key('LETSENCRYPT_AWS_SECRET_KEY'),
      CERT_NAME: '${DOMAIN_NAME}',
      CLOUDFLARE_EMAIL: '',
      CLOUDFLARE_KEY: '',
      DNSIMPLE_EMAIL: '',
      DNSIMPLE_KEY: '',
      DOMAINS: '${DOMAIN_NAME}',
      DO_ACCESS_TOKEN: '',
      DYN_CUSTOMER_NAME: '',
      DYN_PASSWORD: '',
      DYN_USER_NAME: '',
      EMAIL: platform.acme.email,
      EULA: 'Yes',
      PROVIDER: dns ? 'Route53' : 'HTTP',
      PUBLIC_KEY_TYPE: 'RSA-2048',
      RENEWAL_TIME: '12',
    },
    labels: {
      ...affinity,
      'io.rancher.container.create_agent': 'true',
      'io.rancher.container.agent.role': 'environment',
    },
    image: `janeczku/rancher-letsencrypt:${dns ? 'v0.3.0' : 'v0.5.0'}`,
    volumes: [`${project.name}-${stack.instance}-certs:/etc/letsencrypt/${api.toLowerCase()}/certs`],
  };
}

function publicEnv(vars: ReadonlyMap<string, string>, domain: string): string {
  const left = new Map(vars);
  const groups: string[][] = [];
  for (const layout of PUBLIC_LAYOUT) {
    const lines: string[] = [];
    for (const entry of layout) {
      if (entry.startsWith('#')) {
        const next = layout[layout.indexOf(entry) + 1];
        if (next && left.has(next)) lines.push(entry);
        continue;
      }
      const v = left.get(entry);
      if (v === undefined) continue;
      left.delete(entry);
      // The template wrote the base URL in terms of the domain; keep it so.
      lines.push(
        entry === 'ODOO_BASE_URL' && v === `https://${domain}`
          ? `export ${entry}="https://\${DOMAIN_NAME}"`
          : exportLine(entry, v),
      );
    }
    if (lines.length > 0) groups.push(lines);
  }
  if (left.size > 0) groups.push([...left].map(([k, v]) => exportLine(k, v)));
  return `${groups.map((g) => g.join('\n')).join('\n\n')}\n`;
}

/** Plain when the shell reads it back unchanged, else double-quoted (`export LOG_HANDLER=":INFO"`). */
export function exportLine(key: string, value: string): string {
  if (/^[A-Za-z0-9_./@%+,=-]*$/.test(value)) return `export ${key}=${value}`;
  return `export ${key}="${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

function shellArg(a: string): string {
  return /^[A-Za-z0-9_./@%+,=:-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}
