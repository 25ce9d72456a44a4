// Golden test: a spec with the original document's inputs, rendered in the
// Rancher layout, must give the integration and prod stacks of the document
// (test/fixtures/original, see its README): the same variables, the same
// resolved values, image, command, links and scheduling labels.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { composeStack } from '../../src/compose/stack.js';
import { parseShellEnv } from '../../src/importers/shell-env.js';
import { renderRancher } from '../../src/render/rancher.js';
import { Secret } from '../../src/secret.js';
import { scopedKey } from '../../src/secrets/scope.js';
import { parseSpec } from '../../src/platform-spec/parse.js';
import { platformSchema } from '../../src/platform-spec/platform-schema.js';
import { projectSchema } from '../../src/platform-spec/project-schema.js';
import { resolveRancherStack, type ResolvedStack } from '../helpers/rancher-stack.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'original');
const read = (inst: string, f: string) => readFileSync(join(FIXTURES, inst, f), 'utf8');
const fixtureSecrets = (inst: string) => parseShellEnv(read(inst, 'rancher.env'), 'rancher.env').vars;

/** The fixture's AWS_HOST is the platform's storage endpoint (it is not a secret in odp). */
const awsHost = fixtureSecrets('prod').get('AWS_HOST') as string;

const platform = parseSpec(
  'golden-platform.yaml',
  `
name: odoo-platform
domain: odoo.camptocamp.ch
hosts:
  app1: { datacentre: dc1, labels: [application, production] }
  app2: { datacentre: dc2, labels: [application, production] }
  app-int: { datacentre: dc1, labels: [application, integration] }
  db1: { datacentre: dc1, labels: [database] }
  db2: { datacentre: dc2, labels: [database] }
  db-int: { datacentre: dc1, labels: [database, integration] }
services:
  postgres: { primary: db1, replica: db2, port: 5432 }
  postgresIntegration: { host: db-int, port: 5432 }
  redis: { host: app1 }
  redisIntegration: { host: app-int }
  storage: { endpoint: "${awsHost}" }
  edge: { hosts: [app1, app2] }
  statsd: { host: 10.42.24.101, port: 8125 }
acme: { email: letsencrypt@camptocamp.com, challenge: dns-01, dnsProvider: route53 }
plans:
  test: { workers: 2, cronThreads: 1, memorySoft: 325058560, memoryHard: 1572864000, dbMaxConn: 5 }
  standard: { workers: 4, cronThreads: 1, memorySoft: 325058560, memoryHard: 1572864000, dbMaxConn: 5 }
images: { nginx: "camptocamp/odoo-nginx:9.0-1.1.0" }
`,
  platformSchema,
).value;

const project = parseSpec(
  'neomedical.yaml',
  `
name: neomedical
client: Neomedical SA
image: camptocamp/neomedical_odoo
odooSeries: "10.0"
serverWideModules: [web, web_kanban, attachment_s3, session_redis, logging_json]
plan: standard
instances:
  test: { domain: test.neomedical.odoo.camptocamp.ch }
  integration: { domain: integration.neomedical.odoo.camptocamp.ch, version: 10.0.0 }
  # The document's prod rancher.public.env says integration.… (a slip); prod's own domain:
  prod: { domain: neomedical.odoo.camptocamp.ch, version: 10.0.0, database: mighty_penguin_1337 }
`,
  projectSchema,
).value;

/** One secrets file for the project: each fixture's rancher.env, scoped to its instance. */
const secrets = new Map<string, Secret>();
for (const inst of ['integration', 'prod'] as const) {
  for (const [k, v] of fixtureSecrets(inst))
    if (k !== 'AWS_HOST') secrets.set(scopedKey(inst, k), new Secret(v));
}

function rendered(inst: 'test' | 'integration' | 'prod'): {
  files: ReturnType<typeof renderRancher>;
  stack: ResolvedStack;
} {
  const { stack, instance, missingSecrets } = composeStack(platform, project, inst, secrets);
  if (inst !== 'test') assert.deepEqual(missingSecrets, []);
  const files = renderRancher(stack, instance, platform, project, { secrets });
  const secretEnv = [...files.secrets].map(([k, v]) => `export ${k}='${v.reveal()}'`).join('\n');
  return {
    files,
    stack: resolveRancherStack({
      compose: files['docker-compose.yml'],
      publicEnv: files['rancher.public.env'],
      secretEnv,
      rancherCompose: files['rancher-compose.yml'],
    }),
  };
}

function original(inst: 'integration' | 'prod'): ResolvedStack {
  return resolveRancherStack({
    compose: read(inst, 'docker-compose.yml'),
    publicEnv: read(inst, 'rancher.public.env'),
    secretEnv: read(inst, 'rancher.env'),
  });
}

for (const inst of ['integration', 'prod'] as const) {
  describe(`golden: ${inst} stack of the original document`, () => {
    const want = original(inst);
    const { stack: got, files } = rendered(inst);
    // The one deliberate difference, documented in test/fixtures/original/README.md.
    const expectedVars = new Map(want.vars);
    if (inst === 'prod') {
      assert.equal(want.vars.get('DOMAIN_NAME'), 'integration.neomedical.odoo.camptocamp.ch');
      expectedVars.set('DOMAIN_NAME', 'neomedical.odoo.camptocamp.ch');
    }
    const expectEnv = (svc: string) =>
      new Map(
        [...(want.services[svc]?.env ?? [])].map(([k, v]) => [
          k,
          v === want.vars.get('DOMAIN_NAME') ? expectedVars.get('DOMAIN_NAME') : v,
        ]),
      );

    it('the fixture is what the document says', () => {
      const env = want.services.odoo?.env;
      assert.equal(env?.size, 33);
      assert.equal(env?.get('WORKERS'), '4');
      assert.equal(env?.get('LOG_HANDLER'), ':INFO');
      assert.equal(env?.get('RUNNING_ENV'), inst);
    });

    it('sets the same variables, with the same values, in the same order', () => {
      const env = got.services.odoo?.env;
      assert.deepEqual([...(env ?? [])], [...expectEnv('odoo')]);
    });

    it('references the same set of stack variables (public + secret)', () => {
      const names = (s: ResolvedStack) => [...s.publicKeys, ...s.secretKeys].sort();
      assert.deepEqual(names(got), names(want));
      for (const k of names(want)) assert.equal(got.vars.get(k), expectedVars.get(k), k);
    });

    it('keeps the order and the quoting of rancher.public.env', () => {
      assert.deepEqual(
        got.publicKeys.filter((k) => want.publicKeys.includes(k)),
        want.publicKeys,
      );
      assert.match(files['rancher.public.env'], /^export DOMAIN_NAME=.*\n\nexport DB_USER=/);
      assert.match(files['rancher.public.env'], /^export LOG_HANDLER=":INFO"$/m);
      assert.match(
        files['rancher.public.env'],
        /^# number of workers to configure according to the plan of the customer$/m,
      );
    });

    it('runs the same image and command, with the same links and scheduling labels', () => {
      for (const key of ['image', 'command', 'external_links', 'labels'] as const) {
        assert.deepEqual(got.services.odoo?.[key], want.services.odoo?.[key], key);
      }
      assert.match(files['docker-compose.yml'], /^ {4}- MARABUNTA_ALLOW_SERIE=False$/m);
      assert.match(files['docker-compose.yml'], /^ {4}- STATSD_CUSTOMER=neomedical_odoo$/m);
    });

    it('has the same nginx sidekick', () => {
      assert.deepEqual(got.services.nginx, want.services.nginx);
      assert.match(files['docker-compose.yml'], /^ {2}net: "container:odoo"$/m);
    });

    it('has the same letsencrypt service', () => {
      const [g, w] = [got.services.letsencrypt, want.services.letsencrypt];
      assert.deepEqual(g?.env, expectEnv('letsencrypt'));
      assert.deepEqual(g?.labels, w?.labels);
      assert.equal(g?.image, w?.image);
      // integration's volume in the document names another project (troisepis-…).
      if (inst === 'prod') assert.deepEqual(g?.volumes, w?.volumes);
      assert.match(files['docker-compose.yml'], /^ {4}EULA: 'Yes'$/m);
    });

    it('routes the domain to nginx through the shared load balancer', () => {
      assert.deepEqual(got.rancherCompose, {
        odoo: { lb_config: { port_rules: [{ target_port: 80, hostname: expectedVars.get('DOMAIN_NAME') }] } },
      });
    });

    it('puts exactly the secrets in rancher.env', () => {
      assert.deepEqual([...files.secrets.keys()].sort(), [
        'ADMIN_PASSWD',
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'DB_PASSWORD',
        'LETSENCRYPT_AWS_ACCESS_KEY',
        'LETSENCRYPT_AWS_SECRET_KEY',
      ]);
      for (const [, v] of files.secrets)
        assert.doesNotMatch(files['rancher.public.env'], new RegExp(v.reveal()));
    });
  });
}

describe('golden: test stack layout (ecosystem facts §5.3)', () => {
  it('links its own db and takes sessions from the integration Redis', () => {
    const { files, stack } = rendered('test');
    assert.equal(stack.services.odoo?.env.get('ODOO_BASE_URL'), 'https://test.neomedical.odoo.camptocamp.ch');
    assert.equal(stack.services.db?.env.get('POSTGRES_USER'), 'odoo');
    const compose = files['docker-compose.yml'];
    assert.match(compose, /^ {2}links:\n {4}- db:db$/m);
    assert.match(compose, /^ {2}external_links:\n {4}- redis-integration\/redis:redis$/m);
    assert.match(compose, /^ {4}- MARABUNTA_ALLOW_SERIE=True$/m);
    assert.match(compose, /^ {4}- POSTGRES_USER=\$\{DB_USER\}$/m);
    assert.match(compose, /^ {4}- POSTGRES_PASSWORD=\$\{DB_PASSWORD\}$/m);
    assert.match(files['rancher.public.env'], /^export ODOO_BASE_URL="https:\/\/\$\{DOMAIN_NAME\}"$/m);
    assert.doesNotMatch(compose, /io\.rancher\.scheduler\.global/);
  });
});
