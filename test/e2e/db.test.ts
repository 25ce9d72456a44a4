// Issue 5's database commands end to end, through the CLI on a real engine: a
// platform (embedded S3, edge on free ports) with a project provisioned on
// both tiers, prod filled with Odoo-like tables, attachments and an active
// mail server and cron. `db clone` brings the data and files into integration,
// neutralized, with prod untouched; the gate passes, then refuses an active
// mail server; `db reset` recreates an empty database that only its role can
// open, and refuses prod. A stand-in for the integration Odoo unit (holding a
// session on its database) shows the units are stopped and started again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, provisionDatabase, type PgClient } from '../../src/backends/postgres/index.js';
import { ObjectStorage } from '../../src/backends/s3/index.js';
import { sharedUnit, tierNetwork } from '../../src/compose/platform.js';
import { verifyNeutralized } from '../../src/ops/db/neutralize.js';
import { platformSecrets } from '../../src/ops/secrets/platform-secrets.js';
import { platformUp } from '../../src/ops/platform/platform.js';
import { silentProgress } from '../../src/progress.js';
import { loadProjectSecrets } from '../../src/ops/secrets/secrets.js';
import { loadPlatformDir, type PlatformDir } from '../../src/platformdir/load.js';
import { Secret } from '../../src/secret.js';
import { secretsForInstance } from '../../src/secrets/scope.js';
import { withEdgeAndStorage } from '../helpers/edge.js';
import {
  assertRanAsPlanned,
  cleanUp,
  docker,
  engine,
  makePlatform,
  operations,
  runCli,
  setUp,
  uniqueName,
  type PlanJson,
  type TestPlatform,
} from './helpers.js';

let tp: TestPlatform;
let pd: PlatformDir;
let s3Port = 0;
const superuser: Record<'prod' | 'integration', Secret> = {
  prod: new Secret(''),
  integration: new Secret(''),
};
const port: Record<'prod' | 'integration', number> = { prod: 0, integration: 0 };
const role: Record<
  'prod' | 'integration',
  { name: string; password: Secret; database: string; bucket: string }
> = {} as never;
const standIn = () => `${tp.project}-odoo-integration-odoo-1`;
const integrationStack = () => `${tp.project}-odoo-integration`;

const odp = (args: string[], timeoutMs = 300_000) => runCli(['--dir', tp.dir, ...args], { timeoutMs });

before(async () => {
  await setUp();
  tp = await makePlatform(uniqueName('e2edb'));
  ({ s3Port } = await withEdgeAndStorage(tp));
  await platformUp(engine, tp.dir, { progress: silentProgress });
  pd = await loadPlatformDir(tp.dir);
  const platform = await platformSecrets(tp.dir, { generate: false });
  superuser.prod = platform.values.get('POSTGRES_PASSWORD')!;
  superuser.integration = platform.values.get('POSTGRES_INTEGRATION_PASSWORD')!;
  for (const tier of ['prod', 'integration'] as const) {
    port[tier] = await unitPort(sharedUnit(pd.platform, `postgres-${tier}`), 5432);
  }
  const all = (await loadProjectSecrets(tp.dir, tp.project, {}))!;
  const spec = pd.projects.get(tp.project)!.spec;
  const prodDb = spec.instances.prod!.database!;
  role.prod = {
    name: prodDb,
    password: secretsForInstance(all, 'prod').get('DB_PASSWORD')!,
    database: prodDb,
    bucket: `${tp.project}-odoo-prod`,
  };
  role.integration = {
    name: `${prodDb}_integration`,
    password: secretsForInstance(all, 'integration').get('DB_PASSWORD')!,
    database: `${prodDb}_integration`,
    bucket: `${tp.project}-odoo-integration`,
  };
  const prov = await odp(['provision', tp.project, 'integration']);
  assert.equal(prov.code, 0, prov.stderr);
});

after(async () => {
  await cleanUp();
});

test('clone refuses to write into prod, and to read a prod database that does not exist', async () => {
  const intoProd = await odp(['db', 'clone', tp.project, '--from', 'integration', '--to', 'prod', '--yes']);
  assert.equal(intoProd.code, 2, intoProd.stderr);
  assert.match(intoProd.stderr, /refusing to clone into prod/);

  // prod is not provisioned yet: nothing to clone, and integration keeps its database.
  const before = await databaseOid('integration', role.integration.database);
  const missing = await odp(['db', 'clone', tp.project, '--from', 'prod', '--to', 'integration', '--yes']);
  assert.equal(missing.code, 7, missing.stderr);
  assert.match(missing.stderr, /prod database \S+ does not exist/);
  assert.equal(await databaseOid('integration', role.integration.database), before);
});

test("clone: prod's data and files in integration, neutralized; prod unchanged; the units restarted", async () => {
  const prov = await odp(['provision', tp.project, 'prod']);
  assert.equal(prov.code, 0, prov.stderr);
  const prod = await asRole('prod');
  try {
    await prod.query(`
      CREATE TABLE ir_mail_server (id serial PRIMARY KEY, name text, smtp_host text, active boolean);
      CREATE TABLE fetchmail_server (id serial PRIMARY KEY, name text, active boolean);
      CREATE TABLE ir_cron (id serial PRIMARY KEY, name text, active boolean);
      CREATE TABLE ir_config_parameter (key text PRIMARY KEY, value text);
      CREATE TABLE res_partner (id serial PRIMARY KEY, name text);
      INSERT INTO ir_mail_server (name, smtp_host, active)
        VALUES ('customer smtp', 'smtp.customer.example', true), ('old relay', 'relay.example', false);
      INSERT INTO fetchmail_server (name, active) VALUES ('customer imap', true);
      INSERT INTO ir_cron (name, active) VALUES ('Mail: Email Queue Manager', true), ('Invoice reminders', true);
      INSERT INTO ir_config_parameter VALUES
        ('web.base.url', 'https://customer.example'),
        ('database.uuid', 'aaaaaaaa-1111-2222-3333-444444444444'),
        ('database.secret', 'prod-secret-value');
      INSERT INTO res_partner (name) VALUES ('Neomedical SA'), ('Dr. Who'), ('Zoë Ünïcode');
    `);
  } finally {
    await prod.end();
  }
  const s3 = storage();
  const objects = {
    'ab/ab12cd34': 'attachment one',
    'cd/cd56ef78': 'a second, larger attachment '.repeat(100),
  };
  try {
    for (const [key, body] of Object.entries(objects)) await s3.putObject(role.prod.bucket, key, body);
  } finally {
    s3.close();
  }
  const prodBefore = await snapshot('prod');
  await startStandIn();

  // The dry run: the plan, nothing asked, locked or changed.
  const plan = await dryRun(['db', 'clone', tp.project, '--from', 'prod', '--to', 'integration'], () =>
    snapshot('prod'),
  );
  assert.deepEqual(
    plan.steps.map((x) => x.kind),
    [
      ...['stop-unit', 'drop-database', 'create-database', 'copy-database', 'copy-attachments'],
      ...['neutralize', 'verify-neutralized', 'start-unit'],
    ],
  );

  const r = await odp([
    'db',
    'clone',
    tp.project,
    '--from',
    'prod',
    '--to',
    'integration',
    '--yes',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const [op] = await operations(tp.dir, tp.project, 'integration');
  assert.deepEqual([op?.kind, op?.outcome], ['db-clone', 'succeeded'], 'the clone is in the history');
  assertRanAsPlanned(op!, plan);
  const summary = JSON.parse(r.stdout) as {
    objects: { copied: number };
    dumpBytes: number;
    neutralized: Record<string, number | null>;
    verification: Record<string, number>;
    stopped: string[];
    restarted: string[];
  };
  assert.equal(summary.objects.copied, 2);
  assert.ok(summary.dumpBytes > 0);
  assert.deepEqual(summary.neutralized, {
    ir_mail_server: 1,
    fetchmail_server: 1,
    ir_cron: 2,
    ir_config_parameter: 5,
  });
  assert.deepEqual(summary.verification, { mailServers: 0, fetchmailServers: 0, crons: 0 });
  assert.deepEqual(summary.stopped, [standIn()]);
  assert.deepEqual(summary.restarted, [standIn()]);
  assert.equal((await docker.getContainer(standIn()).inspect()).State.Running, true);

  // The integration role owns the copy and reads it.
  const int = await asRole('integration');
  try {
    const partners = await int.query<{ name: string }>('SELECT name FROM res_partner ORDER BY id');
    assert.deepEqual(
      partners.rows.map((x) => x.name),
      ['Neomedical SA', 'Dr. Who', 'Zoë Ünïcode'],
    );
    const owners = await int.query<{ tableowner: string }>(
      "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'",
    );
    assert.deepEqual(
      owners.rows.map((x) => x.tableowner),
      [role.integration.name],
    );
  } finally {
    await int.end();
  }
  const copy = await snapshot('integration');
  assert.deepEqual(copy.activeMail, []);
  assert.deepEqual(copy.activeFetchmail, []);
  assert.deepEqual(copy.activeCrons, []);
  assert.equal(copy.params['web.base.url'], `https://integration.${tp.project}.odoo.example.ch`);
  assert.equal(copy.params['web.base.url.freeze'], 'True');
  assert.equal(copy.params['database.is_neutralized'], 'True');
  assert.ok(
    copy.params['database.uuid'] && copy.params['database.uuid'] !== prodBefore.params['database.uuid'],
  );
  assert.ok(
    copy.params['database.secret'] && copy.params['database.secret'] !== prodBefore.params['database.secret'],
  );

  // The files, byte for byte.
  const s3b = storage();
  try {
    const keys: string[] = [];
    for await (const o of s3b.keys(role.integration.bucket)) keys.push(o.key);
    assert.deepEqual(keys.sort(), Object.keys(objects).sort());
    for (const [key, body] of Object.entries(objects))
      assert.equal((await s3b.getObject(role.integration.bucket, key)).toString(), body);
  } finally {
    s3b.close();
  }

  // prod is exactly as it was.
  assert.deepEqual(await snapshot('prod'), prodBefore);
  assert.deepEqual(prodBefore.activeMail, ['customer smtp']);
  assert.equal(prodBefore.params['web.base.url'], 'https://customer.example');
});

test('the gate: passes on the clone, refuses (naming it) a mail server active again', async () => {
  const c = await asRole('integration');
  try {
    assert.deepEqual(await verifyNeutralized(c), { mailServers: 0, fetchmailServers: 0, crons: 0 });
    await c.query("UPDATE ir_mail_server SET active = true WHERE name = 'customer smtp'");
    await assert.rejects(verifyNeutralized(c), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'DEPLOY_FAILED');
      assert.match(e.message, /not neutralized: 1 outgoing mail server\(s\)/);
      assert.match(
        (e as unknown as { problems: { message: string }[] }).problems[0]!.message,
        /customer smtp/,
      );
      return true;
    });
    await c.query("UPDATE ir_cron SET active = true WHERE name = 'Invoice reminders'");
    await assert.rejects(verifyNeutralized(c), /mail server.*scheduled action/);
  } finally {
    await c.end();
  }
});

test('a clone that fails leaves integration stopped and prod untouched', async () => {
  // An object the integration role may not create: pg_restore stops at it.
  const admin = await asSuperuser('prod', role.prod.database);
  try {
    await admin.query(
      "CREATE FUNCTION odp_needs_superuser(cstring) RETURNS int LANGUAGE internal AS 'int4in'",
    );
  } finally {
    await admin.end();
  }
  const before = await snapshot('prod');
  try {
    const r = await odp(['db', 'clone', tp.project, '--from', 'prod', '--to', 'integration', '--yes']);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /pg_restore into \S+ on postgres-integration failed/);
    assert.match(r.stderr, /permission denied for language internal/);
    assert.match(r.stderr, /stay stopped/);
    assert.equal((await docker.getContainer(standIn()).inspect()).State.Running, false);
    const h = await odp(['history', tp.project, 'integration', '--json']);
    const [op] = (JSON.parse(h.stdout) as { operations: { kind: string; outcome: string }[] }).operations;
    assert.deepEqual([op?.kind, op?.outcome], ['db-clone', 'failed'], 'the failed clone is in the history');
    // One transaction: nothing of the failed restore is left in integration.
    const c = await asRole('integration');
    try {
      const n = await c.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'",
      );
      assert.equal(n.rows[0]!.n, 0);
    } finally {
      await c.end();
    }
    assert.deepEqual(await snapshot('prod'), before);
  } finally {
    const fix = await asSuperuser('prod', role.prod.database);
    await fix.query('DROP FUNCTION IF EXISTS odp_needs_superuser(cstring)').finally(() => fix.end());
    await docker.getContainer(standIn()).start();
  }
});

test('reset refuses prod (exit 2, nothing changed)', async () => {
  const before = await snapshot('prod');
  const oid = await databaseOid('prod', role.prod.database);
  const r = await odp(['db', 'reset', tp.project, 'prod', '--yes', '--confirm', `${tp.project}-odoo-prod`]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /refusing to reset the prod database/);
  assert.equal(await databaseOid('prod', role.prod.database), oid);
  assert.deepEqual(await snapshot('prod'), before);
  const test = await odp(['db', 'reset', tp.project, 'test', '--yes']);
  assert.equal(test.code, 2, test.stderr);
  assert.match(test.stderr, /odp deploy \S+ test/);
});

test('reset integration: sessions ended, an empty database only its role opens, units restarted', async () => {
  // Another customer's role on the integration server.
  const admin = await asSuperuser('integration');
  const other = {
    role: 'other_tenant_db',
    password: new Secret('other-tenant-pw-0123456789'),
    database: 'other_tenant_db',
  };
  try {
    await provisionDatabase(admin, other);
  } finally {
    await admin.end();
  }
  const held = await asRole('integration');
  const plan = await dryRun(['db', 'reset', tp.project, 'integration'], async () => {
    await held.query('SELECT 1'); // its session was not terminated
    return snapshot('prod');
  });
  assert.deepEqual(
    plan.steps.map((x) => x.kind),
    ['stop-unit', 'drop-database', 'create-database', 'start-unit'],
  );
  const noConfirm = await odp(['db', 'reset', tp.project, 'integration', '--yes']);
  assert.equal(noConfirm.code, 2, noConfirm.stderr);
  assert.match(noConfirm.stderr, /--confirm/);

  const r = await odp([
    'db',
    'reset',
    tp.project,
    'integration',
    '--yes',
    '--confirm',
    integrationStack(),
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const [op] = await operations(tp.dir, tp.project, 'integration');
  assert.deepEqual([op?.kind, op?.outcome], ['db-reset', 'succeeded'], 'the reset is in the history');
  assertRanAsPlanned(op!, plan);
  const summary = JSON.parse(r.stdout) as {
    existed: boolean;
    terminated: number;
    stopped: string[];
    restarted: string[];
  };
  assert.equal(summary.existed, true);
  assert.ok(summary.terminated >= 1, `terminated ${summary.terminated}`);
  assert.deepEqual(summary.stopped, [standIn()]);
  assert.deepEqual(summary.restarted, [standIn()]);
  assert.equal((await docker.getContainer(standIn()).inspect()).State.Running, true);
  await held.query('SELECT 1').then(
    () => assert.fail('the open session should have been terminated'),
    () => undefined,
  );
  await held.end().catch(() => undefined);

  const own = await asRole('integration');
  try {
    const tables = await own.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
    assert.equal((tables.rows[0] as { n: number }).n, 0);
    const owner = await own.query<{ owner: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()',
    );
    assert.equal(owner.rows[0]!.owner, role.integration.name);
    await own.query('CREATE TABLE after_reset (id int)');
  } finally {
    await own.end();
  }
  await assert.rejects(
    connect({
      host: '127.0.0.1',
      port: port.integration,
      user: other.role,
      password: other.password,
      database: role.integration.database,
    }),
    /permission denied|not have CONNECT privilege/,
  );
  // prod still has its data.
  assert.deepEqual((await snapshot('prod')).activeMail, ['customer smtp']);
});

// ---------------------------------------------------------------------------

/**
 * `odp ARGS --dry-run --json` (nothing asked: no --yes), and that it changed
 * nothing: integration's database is the same one, the stand-in was not
 * stopped, nothing was recorded, and what `unchanged` reads is as it was.
 */
async function dryRun(args: string[], unchanged: () => Promise<unknown>): Promise<PlanJson> {
  const oid = await databaseOid('integration', role.integration.database);
  const started = (await docker.getContainer(standIn()).inspect()).State.StartedAt;
  const recorded = (await operations(tp.dir, tp.project, 'integration')).length;
  const before = await unchanged();
  const r = await odp([...args, '--dry-run', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const { plan } = JSON.parse(r.stdout) as { plan: PlanJson };
  assert.equal(await databaseOid('integration', role.integration.database), oid);
  const state = (await docker.getContainer(standIn()).inspect()).State;
  assert.deepEqual([state.Running, state.StartedAt], [true, started]);
  assert.equal((await operations(tp.dir, tp.project, 'integration')).length, recorded);
  assert.deepEqual(await unchanged(), before);
  for (const s of [superuser.prod, superuser.integration, role.prod.password, role.integration.password])
    assert.ok(!r.stdout.includes(s.reveal()), 'a secret reached the plan');
  return plan;
}

async function unitPort(unit: string, containerPort: number): Promise<number> {
  const info = await docker.getContainer(unit).inspect();
  return Number(info.NetworkSettings.Ports[`${containerPort}/tcp`]?.[0]?.HostPort);
}

function asRole(tier: 'prod' | 'integration'): Promise<PgClient> {
  const r = role[tier];
  return connect({
    host: '127.0.0.1',
    port: port[tier],
    user: r.name,
    password: r.password,
    database: r.database,
  });
}

function asSuperuser(tier: 'prod' | 'integration', database = 'postgres'): Promise<PgClient> {
  return connect({
    host: '127.0.0.1',
    port: port[tier],
    user: 'postgres',
    password: superuser[tier],
    database,
  });
}

async function databaseOid(tier: 'prod' | 'integration', database: string): Promise<string | undefined> {
  const c = await asSuperuser(tier);
  try {
    const r = await c.query<{ oid: string }>('SELECT oid::text AS oid FROM pg_database WHERE datname = $1', [
      database,
    ]);
    return r.rows[0]?.oid;
  } finally {
    await c.end();
  }
}

interface Snapshot {
  partners: string[];
  activeMail: string[];
  activeFetchmail: string[];
  activeCrons: string[];
  params: Record<string, string>;
}

async function snapshot(tier: 'prod' | 'integration'): Promise<Snapshot> {
  const c = await asRole(tier);
  const names = async (sql: string) => (await c.query<{ name: string }>(sql)).rows.map((x) => x.name);
  try {
    return {
      partners: await names('SELECT name FROM res_partner ORDER BY id'),
      activeMail: await names('SELECT name FROM ir_mail_server WHERE active ORDER BY id'),
      activeFetchmail: await names('SELECT name FROM fetchmail_server WHERE active ORDER BY id'),
      activeCrons: await names('SELECT name FROM ir_cron WHERE active ORDER BY id'),
      params: Object.fromEntries(
        (
          await c.query<{ key: string; value: string }>('SELECT key, value FROM ir_config_parameter')
        ).rows.map((x) => [x.key, x.value]),
      ),
    };
  } finally {
    await c.end();
  }
}

function storage(): ObjectStorage {
  return new ObjectStorage({
    endpoint: `http://127.0.0.1:${s3Port}`,
    region: 'us-east-1',
    accessKeyId: new Secret('S3RVER'),
    secretAccessKey: new Secret('S3RVER'),
  });
}

/**
 * A stand-in for the integration Odoo unit (integration does not deploy in this
 * version): labelled as one, on the tier network, holding a session on the
 * integration database as Odoo would.
 */
async function startStandIn(): Promise<void> {
  const db = sharedUnit(pd.platform, 'postgres-integration');
  const r = role.integration;
  const loop =
    "trap 'exit 0' TERM INT; " +
    `while :; do psql -h ${db} -U ${r.name} -d ${r.database} -c 'SELECT pg_sleep(3600)' >/dev/null 2>&1 & wait $!; ` +
    'sleep 1 & wait $!; done';
  const c = await docker.createContainer({
    name: standIn(),
    Image: pd.platform.images.postgres,
    Entrypoint: ['sh', '-c', loop],
    Env: [`PGPASSWORD=${r.password.reveal()}`],
    Labels: {
      'odp.platform': pd.platform.name,
      'odp.project': tp.project,
      'odp.instance': 'integration',
      'odp.service': 'odoo',
      'odp.replica': '1',
    },
    HostConfig: { NetworkMode: tierNetwork(pd.platform, 'integration') },
  });
  await c.start();
}
