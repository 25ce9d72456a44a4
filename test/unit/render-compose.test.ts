// The Compose file of each instance of the example project: its structure,
// secrets never inline (masked, or `${VAR}` with the value in `.env`), and
// docker-compose 1.29 accepting it (`config -q`) when it is installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { composeStack } from '../../src/compose/stack.js';
import { loadPlatformDir } from '../../src/platformdir/load.js';
import { renderComposeDotEnv, renderComposeFile } from '../../src/render/compose-file.js';
import { MASK, Secret } from '../../src/secret.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'platform');
const pd = await loadPlatformDir(EXAMPLE);
const project = pd.projects.get('neomedical')?.spec;
assert.ok(project);

const DB_PASSWORD = 'Zq8vK2mN4pR7sT1wX3yB';
const secrets = new Map([
  ['DB_PASSWORD', new Secret(DB_PASSWORD)],
  ['ADMIN_PASSWD', new Secret('adminAdminAdmin12345')],
  ['AWS_ACCESS_KEY_ID', new Secret('EXOkeykeykey')],
  ['AWS_SECRET_ACCESS_KEY', new Secret('s3cr3tAccessKeyValue')],
]);

type Svc = Record<string, unknown> & { environment: Record<string, string> };
interface ComposeDoc {
  version: string;
  services: Record<string, Svc>;
  networks: Record<string, { name: string; external?: boolean }>;
  volumes?: Record<string, { name: string }>;
}

function render(inst: 'test' | 'integration' | 'prod', mode: 'mask' | 'reference') {
  const { stack } = composeStack(pd.platform, project!, inst, secrets);
  const text = renderComposeFile(stack, { secrets: mode });
  return { stack, text, doc: parse(text, { version: '1.1' }) as ComposeDoc };
}

const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'odp-compose-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

for (const inst of ['test', 'integration', 'prod'] as const) {
  describe(`compose file: neomedical/${inst}`, () => {
    const { doc, text } = render(inst, 'mask');
    const odoo = doc.services.odoo as Svc;
    const nginx = doc.services.nginx as Svc;

    it('uses the 2.4 file format and the instance network', () => {
      assert.equal(doc.version, '2.4');
      assert.equal(doc.networks[`neomedical-odoo-${inst}`]?.name, `neomedical-odoo-${inst}`);
      assert.deepEqual(Object.keys(odoo.networks as object)[0], `neomedical-odoo-${inst}`);
    });

    it('runs nginx in the network namespace of odoo, once odoo has started', () => {
      assert.equal(nginx.network_mode, 'service:odoo');
      assert.equal(nginx.networks, undefined);
      assert.equal(nginx.ports, undefined);
      assert.deepEqual(nginx.depends_on, { odoo: { condition: 'service_started' } });
      assert.equal(nginx.environment.NGX_ODOO_HOST, '127.0.0.1');
    });

    it('probes odoo over HTTP with bash alone, as the engine does', () => {
      const hc = odoo.healthcheck as { test: string[]; start_period: string };
      assert.deepEqual(hc.test.slice(0, 3), ['CMD', 'bash', '-c']);
      assert.match(hc.test[3] ?? '', /\/dev\/tcp\/127\.0\.0\.1\/8069 .*GET \/web\/health /);
      assert.equal(hc.start_period, '300s');
      // One bash process per check (builtins only), its `$` escaped for compose.
      assert.doesNotMatch(hc.test[3] ?? '', /\| *(head|grep)/);
      assert.match(hc.test[3] ?? '', /\$\$status == \*' 200 '\*/);
    });

    it('labels every service with its platform, project, instance and service', () => {
      for (const [name, svc] of Object.entries(doc.services)) {
        assert.deepEqual(svc.labels, {
          'odp.platform': 'odoo-platform',
          'odp.project': 'neomedical',
          'odp.instance': inst,
          'odp.service': name,
        });
      }
    });

    it('masks secrets', () => {
      assert.equal(odoo.environment.DB_PASSWORD, MASK);
      assert.equal(odoo.environment.ADMIN_PASSWD, MASK);
      assert.ok(!text.includes(DB_PASSWORD), 'a secret value leaked into the masked file');
      assert.equal(odoo.environment.WORKERS, inst === 'test' ? '2' : '4');
    });

    if (inst === 'test') {
      it('has its own db and redis, waited for until healthy', () => {
        assert.deepEqual(Object.keys(doc.services), ['db', 'redis', 'odoo', 'nginx']);
        assert.deepEqual(odoo.depends_on, {
          db: { condition: 'service_started' },
          redis: { condition: 'service_started' },
        });
        // Checked every 60 s, not every second: each check is a process in the
        // container, and at 1 s one idle instance kept half a core busy
        // (docs/decisions/0050). Deploys wait on odp's own probe instead. No
        // start_interval: the 2.4 format and docker-compose 1.29 have none.
        assert.deepEqual((doc.services.db as Svc).healthcheck, {
          test: ['CMD', 'pg_isready', '-U', 'odoo'],
          interval: '60s',
          timeout: '10s',
          retries: 2,
          start_period: '120s',
        });
        assert.deepEqual(doc.volumes, { 'neomedical-odoo-test-db': { name: 'neomedical-odoo-test-db' } });
        assert.deepEqual((doc.services.db as Svc).volumes, [
          'neomedical-odoo-test-db:/var/lib/postgresql/data',
        ]);
      });
    } else {
      it('joins the shared network of its tier, where db and redis are the shared services', () => {
        assert.deepEqual(Object.keys(doc.services), ['odoo', 'nginx']);
        const shared = `odoo-platform-shared-${inst}`;
        assert.deepEqual(doc.networks[shared], { external: true, name: shared });
        assert.ok(shared in (odoo.networks as object));
        assert.deepEqual(odoo.external_links, [
          `odoo-platform-shared-postgres-${inst}-1:db`,
          `odoo-platform-shared-redis-${inst}-1:redis`,
        ]);
        assert.equal(odoo.environment.AWS_BUCKETNAME, `neomedical-odoo-${inst}`);
      });
    }

    it('references secrets as ${VAR}, their values in a .env file', () => {
      const { stack, text: ref, doc: refDoc } = render(inst, 'reference');
      assert.ok(!ref.includes(DB_PASSWORD), 'a secret value is inline');
      assert.equal(refDoc.services.odoo?.environment.DB_PASSWORD, '${DB_PASSWORD}');
      const env = renderComposeDotEnv(stack);
      assert.match(env, new RegExp(`^DB_PASSWORD='${DB_PASSWORD}'$`, 'm'));
      assert.match(env, /^ADMIN_PASSWD='adminAdminAdmin12345'$/m);
      if (inst === 'test') assert.equal(refDoc.services.db?.environment.POSTGRES_PASSWORD, '${DB_PASSWORD}');
      else assert.match(env, /^AWS_SECRET_ACCESS_KEY='s3cr3tAccessKeyValue'$/m);
    });

    it('is accepted by docker-compose 1.29 (config -q)', (t) => {
      if (!hasCompose) return t.skip('docker-compose is not on PATH');
      const { stack, text: ref } = render(inst, 'reference');
      const dir = join(tmp, inst);
      spawnSync('mkdir', ['-p', dir]);
      writeFileSync(join(dir, 'docker-compose.yml'), ref);
      writeFileSync(join(dir, '.env'), renderComposeDotEnv(stack), { mode: 0o600 });
      const check = spawnSync('docker-compose', ['-f', join(dir, 'docker-compose.yml'), 'config', '-q'], {
        encoding: 'utf8',
      });
      assert.equal(check.status, 0, check.stderr);
      // .env is read: the resolved config holds the secret, and warns about nothing unset.
      const full = spawnSync('docker-compose', ['-f', join(dir, 'docker-compose.yml'), 'config'], {
        encoding: 'utf8',
      });
      assert.equal(full.status, 0, full.stderr);
      assert.match(full.stdout, new RegExp(`DB_PASSWORD: ${DB_PASSWORD}`));
      assert.doesNotMatch(full.stderr, /is not set/);
    });
  });
}

describe('compose file: values', () => {
  it('escapes a literal $ in public values so compose does not interpolate it', () => {
    const { stack } = composeStack(pd.platform, project!, 'test', secrets);
    stack.services.find((s) => s.name === 'odoo')?.env.set('ODOO_EXTRA', 'a$b');
    const doc = parse(renderComposeFile(stack, { secrets: 'mask' })) as ComposeDoc;
    assert.equal(doc.services.odoo?.environment.ODOO_EXTRA, 'a$$b');
  });

  it('refuses a .env value the two compose implementations would read differently', () => {
    const { stack } = composeStack(
      pd.platform,
      project!,
      'test',
      new Map([['DB_PASSWORD', new Secret("it's")]]),
    );
    assert.throws(() => renderComposeDotEnv(stack), { code: 'SECRETS_INVALID' });
  });
});
