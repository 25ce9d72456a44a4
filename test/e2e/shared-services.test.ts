// End to end: the platform's shared data services (issue 4) on the real Docker
// engine, brought up by the machinery `odp` uses (composePlatform → planStack →
// applyPlan), then checked against the real servers: streaming replication,
// one database per customer role and nothing else, Redis sessions that survive
// a restart, and the embedded S3 server. The edge is left out (its own test).
// The platform has a unique name; everything labelled with it is removed in
// `after`, pass or fail. Waits are bounded polls; nothing asserts a duration.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  connect,
  provisionDatabase,
  replicationStatus,
  sqlState,
  type PgClient,
} from '../../src/backends/postgres/index.js';
import { redisConnect, redisStatus, type RedisClient } from '../../src/backends/redis/index.js';
import { ObjectStorage } from '../../src/backends/s3/index.js';
import { sharedUnit } from '../../src/compose/platform.js';
import { Secret } from '../../src/secret.js';
import {
  applyShared,
  buildSharedImages,
  docker,
  engine,
  examplePlatform,
  hostPort,
  labelled,
  planShared,
  poll,
  randomSecret,
  removePlatform,
  sharedStack,
  uniqueName,
  type SharedPlatform,
} from './shared-helpers.js';

const name = uniqueName('e2eshared');
let p: SharedPlatform;
const clients: PgClient[] = [];

/** A superuser connection to one of the platform's PostgreSQL servers, through its loopback port. */
async function superuser(
  service: string,
  password = 'POSTGRES_PASSWORD',
  database = 'postgres',
): Promise<PgClient> {
  const port = await hostPort(p, sharedUnit(p.spec, service), 5432);
  const c = await connect({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password: p.secrets.get(password)!,
    database,
  });
  clients.push(c);
  return c;
}

async function as(role: string, password: Secret, database: string): Promise<PgClient> {
  const port = await hostPort(p, sharedUnit(p.spec, 'postgres-prod'), 5432);
  const c = await connect({ host: '127.0.0.1', port, user: role, password, database });
  clients.push(c);
  return c;
}

before(async () => {
  await buildSharedImages();
  p = sharedStack(await examplePlatform(name));
  const plan = await applyShared(p);
  assert.ok(
    plan.steps.some((s) => s.kind === 'run'),
    'the first apply starts the services',
  );
});

after(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await removePlatform(name);
  assert.deepEqual(await labelled(name), { containers: [], networks: [], volumes: [] });
});

test('the shared stack runs every data service, and a second apply changes nothing', async () => {
  const running = (await engine.observe({ platform: name })).units.map(
    // Each one answered its probe when applied; the engine's first check (every 60 s)
    // may still be pending: `starting` until then (docs/decisions/0050).
    (u) => `${u.service}:${u.state}:${u.health.replace(/^starting$/, 'healthy')}`,
  );
  assert.deepEqual(running.sort(), [
    'postgres-integration:running:healthy',
    'postgres-prod:running:healthy',
    'postgres-replica:running:healthy',
    'redis-integration:running:healthy',
    'redis-prod:running:healthy',
    's3:running:healthy',
  ]);
  const again = await planShared(p);
  assert.equal(again.steps.length, 0, 'the same spec plans nothing');
});

test('a row written on the primary is read on the read-only replica', async () => {
  const primary = await superuser('postgres-prod');
  const replica = await superuser('postgres-replica');
  const token = randomBytes(8).toString('hex');
  await primary.query('CREATE TABLE IF NOT EXISTS e2e_replication (token text PRIMARY KEY)');
  await primary.query('INSERT INTO e2e_replication (token) VALUES ($1)', [token]);
  const seen = await poll('the row on the replica', 60_000, async () => {
    const r = await replica.query<{ token: string }>('SELECT token FROM e2e_replication WHERE token = $1', [
      token,
    ]);
    return r.rows[0]?.token;
  });
  assert.equal(seen, token);
  assert.equal((await replica.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r, true);
  await assert.rejects(
    replica.query('INSERT INTO e2e_replication (token) VALUES ($1)', ['nope']),
    (e: unknown) => sqlState(e) === '25006', // read_only_sql_transaction
  );
});

test('replicationStatus reports a connected replica with its lag', async () => {
  const primary = await superuser('postgres-prod');
  const replica = await superuser('postgres-replica');
  const status = await poll('a connected replica', 60_000, async () => {
    const s = await replicationStatus(primary, replica);
    return s.connected ? s : undefined;
  });
  assert.equal(status.connected, true);
  assert.ok(Number.isFinite(status.lagBytes) && status.lagBytes >= 0, `lagBytes ${status.lagBytes}`);
  assert.ok(status.lagSeconds === null || (Number.isFinite(status.lagSeconds) && status.lagSeconds >= 0));
  // Caught up (nothing written meanwhile): 0 bytes and 0 s, not the age of the last write.
  const idle = await poll('the replica caught up', 60_000, async () => {
    const s = await replicationStatus(primary, replica);
    return s.lagBytes === 0 ? s : undefined;
  });
  assert.equal(idle.lagSeconds, 0);
});

test("each customer's role opens its own database and no other's; provisioning is idempotent", async () => {
  const admin = await superuser('postgres-prod');
  const a = { role: 'e2e_role_a', password: randomSecret(), database: 'e2e_db_a' };
  const b = { role: 'e2e_role_b', password: randomSecret(), database: 'e2e_db_b' };
  assert.deepEqual(await provisionDatabase(admin, a), {
    role: 'created',
    database: 'created',
    connect: 'updated',
  });
  assert.deepEqual(await provisionDatabase(admin, b), {
    role: 'created',
    database: 'created',
    connect: 'updated',
  });
  assert.deepEqual(await provisionDatabase(admin, a), {
    role: 'unchanged',
    database: 'unchanged',
    connect: 'unchanged',
  });
  assert.deepEqual(await provisionDatabase(admin, b), {
    role: 'unchanged',
    database: 'unchanged',
    connect: 'unchanged',
  });

  // A in its own database: it connects and, as the owner, creates tables.
  const own = await as(a.role, a.password, a.database);
  await own.query('CREATE TABLE mine (id int)');
  // A in B's database: PostgreSQL refuses the connection (insufficient_privilege).
  await assert.rejects(as(a.role, a.password, b.database), (e: unknown) => {
    assert.equal(sqlState(e), '42501');
    assert.match((e as Error).message, /permission denied for database/);
    assert.doesNotMatch((e as Error).message, new RegExp(a.password.reveal()));
    return true;
  });
  const acl = await admin.query<{ datname: string; public_connect: boolean }>(
    `SELECT datname, has_database_privilege('public', datname, 'CONNECT') AS public_connect
       FROM pg_database WHERE datname = ANY($1) ORDER BY datname`,
    [[a.database, b.database]],
  );
  assert.deepEqual(acl.rows, [
    { datname: a.database, public_connect: false },
    { datname: b.database, public_connect: false },
  ]);

  // A new password is an update; the old one stops working, the new one works.
  const rotated = { ...a, password: randomSecret() };
  assert.deepEqual(await provisionDatabase(admin, rotated), {
    role: 'updated',
    database: 'unchanged',
    connect: 'unchanged',
  });
  await assert.rejects(as(a.role, a.password, a.database), (e: unknown) => sqlState(e) === '28P01');
  await as(a.role, rotated.password, a.database);
});

test('a Redis session survives a restart of redis-prod (AOF); redis-integration is another server', async () => {
  const unit = sharedUnit(p.spec, 'redis-prod');
  const key = 'session::demo-odoo-prod:abc';
  const value = randomBytes(8).toString('hex');
  const runId = async (c: RedisClient) => /run_id:(\w+)/.exec(await c.info('server'))?.[1];
  const writer = await redisConnect({ host: '127.0.0.1', port: await hostPort(p, unit, 6379) });
  let firstRun: string | undefined;
  try {
    firstRun = await runId(writer);
    // No RDB snapshot at shutdown: what comes back after the restart came from the append-only file.
    await writer.config('SET', 'save', '');
    await writer.set(key, value);
  } finally {
    writer.disconnect();
  }
  const status = await redisStatus({ host: '127.0.0.1', port: await hostPort(p, unit, 6379) });
  assert.equal(status.up, true);
  assert.equal(status.aofEnabled, true);
  assert.ok(status.keys >= 1);

  await docker.getContainer(unit).restart({ t: 10 });
  // The ephemeral host port may change with the restart: read it again on each try.
  const restored = await poll('the key after the restart', 60_000, async () => {
    const c = await redisConnect({ host: '127.0.0.1', port: await hostPort(p, unit, 6379) });
    try {
      return { value: await c.get(key), run: await runId(c) };
    } finally {
      c.disconnect();
    }
  });
  assert.notEqual(restored.run, firstRun, 'a new server process');
  assert.equal(restored.value, value);

  const integration = await redisConnect({
    host: '127.0.0.1',
    port: await hostPort(p, sharedUnit(p.spec, 'redis-integration'), 6379),
  });
  const prod = await redisConnect({ host: '127.0.0.1', port: await hostPort(p, unit, 6379) });
  try {
    assert.equal(await integration.get(key), null);
    assert.notEqual(await runId(integration), await runId(prod));
  } finally {
    integration.disconnect();
    prod.disconnect();
  }
  assert.equal(
    (await redisStatus({ host: '127.0.0.1', port: 1 })).up,
    false,
    'a closed port is down, quickly',
  );
});

test('an object put through the embedded S3 endpoint is read back; buckets are created once', async () => {
  const s3rver = new Secret('S3RVER');
  const storage = new ObjectStorage({
    endpoint: p.spec.services.storage.endpoint,
    region: p.spec.services.storage.region,
    accessKeyId: s3rver,
    secretAccessKey: s3rver,
  });
  try {
    const bucket = `${name}-odoo-prod`;
    assert.equal(await storage.ensureBucket(bucket), 'created');
    assert.equal(await storage.ensureBucket(bucket), 'unchanged');
    const body = Buffer.from(`attachment ${randomBytes(8).toString('hex')}`);
    await storage.putObject(bucket, 'ab/abcdef 1.bin', body, 'application/octet-stream');
    assert.deepEqual(await storage.getObject(bucket, 'ab/abcdef 1.bin'), body);
    await assert.rejects(storage.getObject(bucket, 'no/such/key'), { code: 'NOT_FOUND' });

    const copy = `${name}-odoo-integration`;
    assert.deepEqual(await storage.copyBucket(bucket, copy), { copied: 1, bytes: body.length });
    assert.deepEqual(await storage.getObject(copy, 'ab/abcdef 1.bin'), body);
  } finally {
    storage.close();
  }
});
