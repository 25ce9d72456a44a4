// The environment of the Odoo container, as the images expect it. For images
// built on docker-odoo-project ("camptocamp" flavour) it is the exact variable
// set and order of the original document's compose files; the official `odoo`
// image takes its connection through HOST/PORT/USER/PASSWORD and the rest as
// command-line options.
import { Secret, type EnvValue } from '../secret.js';
import type { PlatformSpec } from '../platform-spec/platform-schema.js';
import type { ProjectSpec } from '../platform-spec/project-schema.js';
import type { ResolvedInstance } from './instance.js';
import { EMBEDDED_S3_PORT } from './platform.js';

export interface OdooEnvResult {
  env: Map<string, EnvValue>;
  command: string[] | undefined;
  /** Secret variables the instance needs and the secrets file does not hold. */
  missingSecrets: string[];
}

const bool = (b: boolean): string => (b ? 'True' : 'False');

export function statsdCustomer(project: ProjectSpec): string {
  return project.statsdCustomer ?? `${project.name.replace(/-/g, '_')}_odoo`;
}

export function odooEnv(
  platform: PlatformSpec,
  project: ProjectSpec,
  inst: ResolvedInstance,
  secrets: ReadonlyMap<string, Secret>,
): OdooEnvResult {
  const missing: string[] = [];
  const secret = (key: string): Secret => {
    const s = secrets.get(key);
    if (s) return s;
    missing.push(key);
    return new Secret('');
  };
  const p = inst.plan;
  const env = new Map<string, EnvValue>();
  const set = (k: string, v: EnvValue) => env.set(k, v);
  const isTest = inst.name === 'test';

  set('DB_USER', inst.dbUser);
  set('DB_PASSWORD', secret('DB_PASSWORD'));
  set('DB_NAME', inst.database);
  set('DB_PORT', String(inst.dbPort));
  set('ADMIN_PASSWD', secret('ADMIN_PASSWD'));
  set('RUNNING_ENV', inst.name);
  set('DEMO', 'False');
  set('WORKERS', String(p.workers));
  set('MAX_CRON_THREADS', String(p.cronThreads));
  set('LOG_LEVEL', 'info');
  set('LOG_HANDLER', ':INFO');
  set('DB_MAXCONN', String(p.dbMaxConn));
  set('LIMIT_MEMORY_SOFT', String(p.memorySoft));
  set('LIMIT_MEMORY_HARD', String(p.memoryHard));
  set('LIMIT_REQUEST', String(p.limitRequest));
  set('LIMIT_TIME_CPU', String(p.timeCpu));
  set('LIMIT_TIME_REAL', String(p.timeReal));
  set('MARABUNTA_ALLOW_SERIE', bool(inst.allowSerie));
  set('MARABUNTA_MODE', inst.marabuntaMode);
  if (isTest) {
    // The test stack of the original keeps attachments in its own database
    // (cloud_platform demands `db` on test) and sets the base URL.
    set('ODOO_BASE_URL', `https://${inst.domain}`);
  } else {
    // Embedded storage answers on loopback for odp and as `s3` for containers.
    const storage = platform.services.storage;
    set('AWS_HOST', storage.embedded ? `http://s3:${EMBEDDED_S3_PORT}` : storage.endpoint);
    set('AWS_ACCESS_KEY_ID', secret('AWS_ACCESS_KEY_ID'));
    set('AWS_SECRET_ACCESS_KEY', secret('AWS_SECRET_ACCESS_KEY'));
    set('AWS_BUCKETNAME', inst.bucket ?? '');
  }
  set('ODOO_SESSION_REDIS', '1');
  set('ODOO_SESSION_REDIS_HOST', 'redis');
  set('ODOO_SESSION_REDIS_PREFIX', inst.redisPrefix);
  if (isTest) set('ODOO_SESSION_REDIS_EXPIRATION', '86400');
  set('ODOO_LOGGING_JSON', '1');
  set('ODOO_CLOUD_PLATFORM_UNSAFE', '0');
  if (!isTest) {
    const statsd = platform.services.statsd;
    set('ODOO_STATSD', statsd && inst.name === 'prod' ? '1' : '0');
    set('STATSD_CUSTOMER', statsdCustomer(project));
    set('STATSD_ENVIRONMENT', inst.name);
    set('STATSD_HOST', statsd?.host ?? '');
    set('STATSD_PORT', String(statsd?.port ?? 8125));
  }

  // Every other secret of the instance (an SMTP password, a license key…) is
  // passed through; LETSENCRYPT_* belong to the certificate service, not Odoo.
  for (const [k, v] of secrets) {
    if (!env.has(k) && !k.startsWith('LETSENCRYPT_')) set(k, v);
  }
  for (const [k, v] of Object.entries(inst.env)) set(k, v);

  const load = project.serverWideModules.length ? [`--load=${project.serverWideModules.join(',')}`] : [];
  if (project.flavour === 'official') return officialFlavour(env, inst, load, missing);
  return { env, command: load.length ? ['odoo', ...load] : undefined, missingSecrets: missing };
}

/**
 * The official image reads HOST/PORT/USER/PASSWORD and takes everything else as
 * odoo-bin options. The cloud-platform variables stay: the addons read them.
 */
function officialFlavour(
  c2c: Map<string, EnvValue>,
  inst: ResolvedInstance,
  load: string[],
  missingSecrets: string[],
): OdooEnvResult {
  const take = (k: string): EnvValue => {
    const v = c2c.get(k) ?? '';
    c2c.delete(k);
    return v;
  };
  const env = new Map<string, EnvValue>([
    ['HOST', 'db'],
    ['PORT', take('DB_PORT')],
    ['USER', take('DB_USER')],
    ['PASSWORD', take('DB_PASSWORD')],
  ]);
  const opt = (k: string) => String(take(k));
  const command = [
    'odoo',
    `--database=${String(take('DB_NAME'))}`,
    `--db-filter=^${inst.database}$`,
    '--no-database-list',
    '--proxy-mode',
    `--workers=${opt('WORKERS')}`,
    `--max-cron-threads=${opt('MAX_CRON_THREADS')}`,
    `--db_maxconn=${opt('DB_MAXCONN')}`,
    `--limit-memory-soft=${opt('LIMIT_MEMORY_SOFT')}`,
    `--limit-memory-hard=${opt('LIMIT_MEMORY_HARD')}`,
    `--limit-request=${opt('LIMIT_REQUEST')}`,
    `--limit-time-cpu=${opt('LIMIT_TIME_CPU')}`,
    `--limit-time-real=${opt('LIMIT_TIME_REAL')}`,
    `--log-level=${opt('LOG_LEVEL')}`,
    `--log-handler=${opt('LOG_HANDLER')}`,
    ...(String(take('DEMO')) === 'False' ? ['--without-demo=all'] : []),
    ...load,
  ];
  // The official image has no variable for the master password (a config-file
  // key); ADMIN_PASSWD stays in the environment, see docs/decisions/0004.
  for (const k of ['MARABUNTA_ALLOW_SERIE', 'MARABUNTA_MODE']) c2c.delete(k);
  for (const [k, v] of c2c) env.set(k, v);
  return { env, command, missingSecrets };
}
