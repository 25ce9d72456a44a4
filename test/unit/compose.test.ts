import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { composeStack } from '../../src/compose/stack.js';
import { serviceByRole } from '../../src/model/stack.js';
import { MASK, Secret, revealEnv } from '../../src/secret.js';
import { input, project } from '../helpers/specs.js';

const secrets = new Map([
  ['DB_PASSWORD', new Secret('shared-db-pw')],
  ['PROD__DB_PASSWORD', new Secret('prod-db-pw')],
  ['ADMIN_PASSWD', new Secret('admin-pw')],
  ['AWS_ACCESS_KEY_ID', new Secret('AKIA')],
  ['AWS_SECRET_ACCESS_KEY', new Secret('aws-secret')],
  ['SMTP_PASSWORD', new Secret('smtp')],
  ['LETSENCRYPT_AWS_SECRET_KEY', new Secret('le')],
]);
const env = (inst: 'test' | 'integration' | 'prod', p = project()) => {
  const { stack, missingSecrets } = composeStack(input().platform, p.spec, inst, secrets);
  const odoo = serviceByRole(stack, 'odoo')!;
  return {
    stack,
    odoo,
    missingSecrets,
    get: (k: string) => (odoo.env.has(k) ? revealEnv(odoo.env.get(k)!) : undefined),
  };
};

describe('test instance', () => {
  test('its own db and redis, odoo and the nginx sidecar', () => {
    const { stack } = env('test');
    assert.deepEqual(
      stack.services.map((s) => s.name),
      ['db', 'redis', 'odoo', 'nginx'],
    );
    assert.equal(stack.name, 'neomedical-odoo-test');
    assert.equal(serviceByRole(stack, 'nginx')?.sharesNetworkWith, 'odoo');
    assert.deepEqual(stack.volumes, ['neomedical-odoo-test-db']);
  });
  test('latest image, demo data set, serie allowed, base URL, attachments in the database', () => {
    const { odoo, get } = env('test');
    assert.equal(odoo.image, 'camptocamp/neomedical_odoo:latest');
    assert.equal(get('RUNNING_ENV'), 'test');
    assert.equal(get('MARABUNTA_MODE'), 'demo');
    assert.equal(get('MARABUNTA_ALLOW_SERIE'), 'True');
    assert.equal(get('ODOO_BASE_URL'), 'https://test.neomedical.odoo.example.ch');
    assert.equal(get('AWS_BUCKETNAME'), undefined);
    assert.equal(get('WORKERS'), '2'); // the platform's test plan
    assert.equal(get('ODOO_SESSION_REDIS_PREFIX'), 'neomedical-odoo-test');
  });
  test('the db container gets the same credentials as odoo', () => {
    const { stack, get } = env('test');
    const db = serviceByRole(stack, 'db')!;
    assert.equal(revealEnv(db.env.get('POSTGRES_PASSWORD')!), get('DB_PASSWORD'));
    assert.equal(revealEnv(db.env.get('POSTGRES_USER')!), get('DB_USER'));
  });
});

describe('integration and prod', () => {
  test('pinned image, full mode, no serie, plan values, the server-wide modules', () => {
    const { odoo, get } = env('integration');
    assert.equal(odoo.image, 'camptocamp/neomedical_odoo:10.0.0');
    assert.deepEqual(odoo.command, [
      'odoo',
      '--load=web,web_kanban,attachment_s3,session_redis,logging_json',
    ]);
    assert.equal(get('MARABUNTA_MODE'), 'full');
    assert.equal(get('MARABUNTA_ALLOW_SERIE'), 'False');
    assert.equal(get('WORKERS'), '4');
    assert.equal(get('ODOO_STATSD'), '0');
    assert.equal(get('STATSD_CUSTOMER'), 'neomedical_odoo');
  });
  test('integration database is prod suffixed _integration; bucket and prefix <project>-odoo-<env>', () => {
    assert.equal(env('integration').get('DB_NAME'), 'mighty_penguin_1337_integration');
    assert.equal(env('integration').get('DB_USER'), 'mighty_penguin_1337_integration');
    assert.equal(env('prod').get('DB_NAME'), 'mighty_penguin_1337');
    assert.equal(env('prod').get('AWS_BUCKETNAME'), 'neomedical-odoo-prod');
    assert.equal(env('prod').get('ODOO_SESSION_REDIS_PREFIX'), 'neomedical-odoo-prod');
  });
  test('prod: one Odoo per application+production host; integration: one on application+integration', () => {
    assert.deepEqual(env('prod').odoo.placement, {
      labels: ['application', 'production'],
      global: true,
      replicas: 2,
    });
    assert.deepEqual(env('integration').odoo.placement, {
      labels: ['application', 'integration'],
      global: false,
      replicas: 1,
    });
  });
  test('reaches the shared services of its tier as db and redis', () => {
    assert.deepEqual(env('prod').odoo.externalNetworks, [
      { name: 'odoo-platform-edge', aliases: {} },
      {
        name: 'odoo-platform-shared-prod',
        aliases: { db: 'odoo-platform-shared-postgres-prod-1', redis: 'odoo-platform-shared-redis-prod-1' },
      },
    ]);
    assert.deepEqual(env('test').odoo.externalNetworks, [{ name: 'odoo-platform-edge', aliases: {} }]);
  });
  test('scoped secrets win over unscoped; extra secrets pass through; LETSENCRYPT_* do not', () => {
    assert.equal(env('prod').get('DB_PASSWORD'), 'prod-db-pw');
    assert.equal(env('integration').get('DB_PASSWORD'), 'shared-db-pw');
    assert.equal(env('prod').get('SMTP_PASSWORD'), 'smtp');
    assert.equal(env('prod').get('LETSENCRYPT_AWS_SECRET_KEY'), undefined);
  });
  test('secrets stay masked when the stack is printed', () => {
    const text = JSON.stringify(Object.fromEntries(env('prod').odoo.env));
    assert.ok(!text.includes('prod-db-pw'));
    assert.ok(text.includes(MASK));
  });
  test('per-instance env overrides win', () => {
    const p = project((d) => (d.instances.prod.env = { WORKERS: 12, LOG_LEVEL: 'debug' }));
    assert.equal(env('prod', p).get('WORKERS'), '12');
    assert.equal(env('prod', p).get('LOG_LEVEL'), 'debug');
  });
  test('missing secrets are listed, not invented', () => {
    const { stack, missingSecrets } = {
      ...composeStack(input().platform, project().spec, 'prod', new Map()),
    };
    assert.deepEqual(missingSecrets.sort(), [
      'ADMIN_PASSWD',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'DB_PASSWORD',
    ]);
    assert.equal(stack.name, 'neomedical-odoo-prod');
  });
});

describe('official image flavour', () => {
  test('connection through HOST/PORT/USER/PASSWORD, tuning as odoo-bin options', () => {
    const p = project((d) => (d.flavour = 'official'));
    const { odoo, get } = env('prod', p);
    assert.equal(get('HOST'), 'db');
    assert.equal(get('USER'), 'mighty_penguin_1337');
    assert.equal(get('PASSWORD'), 'prod-db-pw');
    assert.equal(get('DB_PASSWORD'), undefined);
    assert.equal(get('WORKERS'), undefined);
    assert.ok(odoo.command?.includes('--workers=4'));
    assert.ok(odoo.command?.includes('--db-filter=^mighty_penguin_1337$'));
    assert.ok(odoo.command?.includes('--no-database-list'));
    assert.equal(get('ODOO_SESSION_REDIS_PREFIX'), 'neomedical-odoo-prod');
  });
});
