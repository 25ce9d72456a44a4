// Issue 4 end to end, through the CLI on a real engine: `platform up` from
// nothing (PostgreSQL primary + replica, integration PostgreSQL, two Redis, the
// embedded S3 server, the HAProxy edge), certificates from Pebble served by the
// edge, the test instance reached over HTTPS, provisioning and tenancy, data
// that survives restarts, `platform status` noticing a stopped service, and the
// edge reloading ten times under load without a failed request.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { globalAgent } from 'node:https';
import { request as httpRequest, Agent } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from '../../src/backends/postgres/index.js';
import { redisConnect } from '../../src/backends/redis/index.js';
import { ObjectStorage } from '../../src/backends/s3/index.js';
import { sharedUnit } from '../../src/compose/platform.js';
import { edgeControl } from '../../src/ops/edge/edge-sync.js';
import { PLATFORM_INSTANCE, PLATFORM_PROJECT } from '../../src/ops/operation.js';
import { platformSecrets } from '../../src/ops/secrets/platform-secrets.js';
import { loadPlatformDir } from '../../src/platformdir/load.js';
import type { PlanStep } from '../../src/plan/step.js';
import { Secret } from '../../src/secret.js';
import { history } from '../../src/state/history.js';
import { withInstanceLock } from '../../src/state/lock.js';
import { platformLockDir } from '../../src/state/platform-lock.js';
import { withEdgeAndStorage, viaEdge, type EdgePorts } from '../helpers/edge.js';
import { freePort, startPebble, type PebbleHandle } from '../helpers/pebble.js';
import {
  buildSampleImage,
  cleanUp,
  docker,
  engine,
  makePlatform,
  runCli,
  setUp,
  sleep,
  uniqueName,
  type TestPlatform,
} from './helpers.js';
import { assertRanAsPlanned } from './plan-helpers.js';

let tp: TestPlatform;
let pebble: PebbleHandle;
let ports: EdgePorts;
const domain = (p: string) => `test.${p}.odp.test`;

before(async () => {
  await setUp();
  const httpPort = await freePort();
  pebble = await startPebble({ httpPort });
  tp = await makePlatform(uniqueName('e2eplat'), { domain: 'odp.test' });
  ports = await withEdgeAndStorage(tp, { httpPort, acme: pebble });
  await buildSampleImage(`${tp.image}:latest`, '1.0.0');
});

after(async () => {
  await pebble?.stop();
  await cleanUp();
});

const odp = (args: string[], timeoutMs = 300_000) => runCli(['--dir', tp.dir, ...args], { timeoutMs });

test('platform up from nothing: every shared service healthy, certificates from Pebble', async () => {
  const dry = await odp(['platform', 'up', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const planned = (JSON.parse(dry.stdout) as { planSteps: PlanStep[] }).planSteps;
  assert.ok(planned.some((s) => s.id === 'check-edge-config:routes'));
  assert.ok(planned.some((s) => s.id === 'request-certificates:declared'));
  const up = await odp(['platform', 'up']);
  assert.equal(up.code, 0, up.stderr);
  // The dry run printed what ran: the stack's steps, then the edge's, recorded by kind and id.
  const [op] = history(tp.dir, PLATFORM_PROJECT, PLATFORM_INSTANCE, 1);
  assert.deepEqual([op?.kind, op?.outcome], ['platform-up', 'succeeded']);
  assertRanAsPlanned(planned, op!.steps);
  assert.match(up.stdout, /is up/);
  assert.match(up.stdout, new RegExp(`certificate ${domain(tp.project).replace(/\./g, '\\.')}\\s+issued`));
  const status = await odp(['platform', 'status', '--json']);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  const s = JSON.parse(status.stdout) as {
    services: { service: string; state: string }[];
    replication: { connected: boolean; lagBytes: number };
  };
  // `platform up` saw each one answer its probe; where the engine's own first check
  // (every 60 s, no start interval on Docker 20.10) has not run yet, status ran it.
  assert.deepEqual(
    s.services.map((x) => `${x.service}:${x.state}`).sort(),
    [
      'edge',
      'postgres-integration',
      'postgres-prod',
      'postgres-replica',
      'redis-integration',
      'redis-prod',
      's3',
    ].map((n) => `${n}:up`),
  );
  assert.equal(s.replication.connected, true);
  assert.equal(typeof s.replication.lagBytes, 'number');
  // Converging again changes nothing and asks for no certificate again.
  const again = await odp(['platform', 'up']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /up to date/);
  assert.match(again.stdout, /kept/);
});

test('the test instance over HTTPS through the edge, with a certificate chaining to Pebble', async () => {
  const deploy = await odp(['deploy', tp.project, 'test']);
  assert.equal(deploy.code, 0, deploy.stderr);
  const res = await https('/web/health', domain(tp.project));
  assert.equal(res.status, 200, res.body);
  const leaf = new X509Certificate(res.cert!.raw);
  assert.ok(leaf.subjectAltName?.includes(domain(tp.project)));
  const chain = await fetchChain(domain(tp.project));
  assert.ok(
    chain.some(
      (c) =>
        c.checkIssued(new X509Certificate(pebble.root)) ||
        c.verify(new X509Certificate(pebble.root).publicKey),
    ),
  );
  assert.equal((await https('/web/database/manager', domain(tp.project))).status, 403);
  const plain = await http('/web/login?x=1', domain(tp.project));
  assert.equal(plain.status, 301);
  assert.equal(plain.location, `https://${domain(tp.project)}/web/login?x=1`);
});

test('provision: role, database, bucket and prefix; idempotent; tenancy enforced by PostgreSQL', async () => {
  const dry = await odp(['provision', tp.project, 'prod', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const { plan } = JSON.parse(dry.stdout) as { plan: { steps: PlanStep[] } };
  const first = await odp(['provision', tp.project, 'prod', '--json']);
  assert.equal(first.code, 0, first.stderr);
  const [op] = history(tp.dir, tp.project, 'prod', 1);
  assert.deepEqual([op?.kind, op?.outcome], ['provision', 'succeeded']);
  assertRanAsPlanned(plan.steps, op!.steps);
  const r = JSON.parse(first.stdout) as {
    role: string;
    database: string;
    postgres: { role: string };
    bucket: { change: string };
  };
  assert.equal(r.postgres.role, 'created');
  const again = JSON.parse((await odp(['provision', tp.project, 'prod', '--json'])).stdout) as typeof r;
  assert.deepEqual([again.postgres.role, again.bucket.change], ['unchanged', 'unchanged']);

  // A second customer's database on the same cluster.
  const pd = await loadPlatformDir(tp.dir);
  const secrets = await platformSecrets(tp.dir, { generate: false });
  const port = await unitPort(sharedUnit(pd.platform, 'postgres-prod'), 5432);
  const admin = await connect({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password: secrets.values.get('POSTGRES_PASSWORD')!,
    database: 'postgres',
  });
  const { provisionDatabase } = await import('../../src/backends/postgres/index.js');
  await provisionDatabase(admin, {
    role: 'other_tenant_42',
    password: new Secret('other-secret-pw-123456'),
    database: 'other_tenant_42',
  });
  await admin.end();
  const projectPw = (await readProjectSecret(tp, 'PROD__DB_PASSWORD'))!;
  const own = await connect({
    host: '127.0.0.1',
    port,
    user: r.role,
    password: projectPw,
    database: r.database,
  });
  await own.query('CREATE TABLE IF NOT EXISTS notes (body text)');
  await own.query("INSERT INTO notes VALUES ('written on the primary')");
  await own.end();
  await assert.rejects(
    connect({ host: '127.0.0.1', port, user: r.role, password: projectPw, database: 'other_tenant_42' }),
    /permission denied|not have CONNECT privilege/,
  );

  // The replica serves what the primary wrote.
  const replicaPort = await unitPort(sharedUnit(pd.platform, 'postgres-replica'), 5432);
  let seen = '';
  for (let i = 0; i < 60 && !seen; i++) {
    const rep = await connect({
      host: '127.0.0.1',
      port: replicaPort,
      user: r.role,
      password: projectPw,
      database: r.database,
    });
    seen =
      (
        await rep
          .query<{ body: string }>('SELECT body FROM notes')
          .catch(() => ({ rows: [] as { body: string }[] }))
      ).rows[0]?.body ?? '';
    await rep.end();
    if (!seen) await sleep(250);
  }
  assert.equal(seen, 'written on the primary');
});

test('a session in Redis survives a restart; an object put through the storage endpoint is read back', async () => {
  const pd = await loadPlatformDir(tp.dir);
  const unit = sharedUnit(pd.platform, 'redis-prod');
  const key = `session::${tp.project}-odoo-prod:e2e-sid`;
  const before = await redisConnect({ host: '127.0.0.1', port: await unitPort(unit, 6379) });
  await before.set(key, JSON.stringify({ login: 'admin' }));
  before.disconnect();
  await docker.getContainer(unit).restart({ t: 5 });
  await engine.waitReady(unit, { command: ['redis-cli', 'ping'], timeoutSeconds: 5 }, { timeoutMs: 60_000 });
  const after = await redisConnect({ host: '127.0.0.1', port: await unitPort(unit, 6379) });
  assert.equal(await after.get(key), JSON.stringify({ login: 'admin' }));
  after.disconnect();

  const s3 = new ObjectStorage({
    endpoint: `http://127.0.0.1:${ports.s3Port}`,
    region: 'us-east-1',
    accessKeyId: new Secret('S3RVER'),
    secretAccessKey: new Secret('S3RVER'),
  });
  await s3.putObject(`${tp.project}-odoo-prod`, 'hello.txt', Buffer.from('stored in S3'));
  assert.equal((await s3.getObject(`${tp.project}-odoo-prod`, 'hello.txt')).toString(), 'stored in S3');
});

test('the edge reloads ten times under load without a failed request', async () => {
  const pd = await loadPlatformDir(tp.dir);
  const edge = edgeControl(engine);
  let sent = 0;
  let failed = 0;
  let stop = false;
  const load = (async () => {
    const deadline = Date.now() + 120_000;
    while (!stop && Date.now() < deadline && sent < 50_000) {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          sent++;
          const r = await https('/web/health', domain(tp.project));
          if (r.status !== 200) failed++;
        }),
      );
    }
  })();
  for (let i = 0; i < 10; i++) await edge.sync(pd);
  stop = true;
  await load;
  console.log(`edge reload under load: ${sent} requests, ${failed} failed, 10 reloads`);
  assert.ok(sent > 0);
  assert.equal(failed, 0);
});

test('odp serve answers /healthz and its scheduler renews through the edge (nothing due: kept)', async () => {
  const { serve } = await import('../../src/server/server.js');
  const { certificateRenewal } = await import('../../src/server/scheduled.js');
  const edge = edgeControl(engine);
  const renewal = certificateRenewal({ engine, dir: tp.dir, edge, renewEveryMs: 3_600_000 });
  const { scheduler, url, close } = await serve({
    dir: tp.dir,
    host: '127.0.0.1',
    port: 0,
    edge,
    scheduled: async () => [renewal],
  });
  try {
    type Status = { key: string; last?: { outcome: string; detail: string | null } };
    let job: Status | undefined;
    for (let i = 0; i < 120 && !job?.last; i++) {
      const body = (await (await fetch(`${url}/healthz`)).json()) as { status: string; jobs: Status[] };
      assert.equal(body.status, 'ok');
      job = body.jobs.find((j) => j.key === 'certificates');
      if (!job?.last) await sleep(250);
    }
    assert.equal(job?.last?.outcome, 'succeeded', job?.last?.detail ?? '');
    assert.match(job?.last?.detail ?? '', /3 kept/);
  } finally {
    await scheduler.stop();
    await close();
  }
});

test('platform status reports a stopped service as down, with the reason', async () => {
  const pd = await loadPlatformDir(tp.dir);
  await docker.getContainer(sharedUnit(pd.platform, 'redis-integration')).stop({ t: 1 });
  const status = await odp(['platform', 'status']);
  assert.equal(status.code, 1);
  assert.match(status.stdout, /redis-integration\s+down\s+.*exited with code/);
});

test('platform down waits for an operation on an instance, then keeps every volume', async () => {
  // This process holds an instance's lock, as a deploy would: the platform lock shared.
  let released = 0;
  const { run } = await withInstanceLock(tp.dir, `${tp.project}-test`, { wait: false }, async () => {
    const pending = odp(['platform', 'down', '--yes']);
    const writer = join(platformLockDir(tp.dir), 'writer');
    for (let i = 0; i < 240 && !existsSync(writer); i++) await sleep(250);
    assert.ok(existsSync(writer), 'platform down waits for the platform lock');
    await sleep(1000);
    released = Date.now();
    return { run: pending }; // not awaited here: the lock is released first
  });
  const down = await run;
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stderr, new RegExp(`waiting for pid ${process.pid} on .*an instance operation`));
  assert.match(down.stdout, /kept \d+ volumes/);
  const [op] = history(tp.dir, PLATFORM_PROJECT, PLATFORM_INSTANCE, 1);
  assert.deepEqual([op?.kind, op?.outcome], ['platform-down', 'succeeded']);
  assert.ok(Date.parse(op!.startedAt) >= released - 1000, 'it began once the instance operation had ended');
});

async function unitPort(unit: string, containerPort: number): Promise<number> {
  const info = await docker.getContainer(unit).inspect();
  return Number(info.NetworkSettings.Ports[`${containerPort}/tcp`]?.[0]?.HostPort);
}

async function readProjectSecret(t: TestPlatform, key: string): Promise<Secret | undefined> {
  const { loadProjectSecrets } = await import('../../src/ops/secrets/secrets.js');
  return (await loadProjectSecrets(t.dir, t.project, {}))?.get(key);
}

const keepAlive = new Agent({ keepAlive: true });

/** Through the edge, verified against Pebble's root (the default agent, as before: kept-alive connections). */
const https = (pathname: string, servername: string) =>
  viaEdge(ports.httpsPort, servername, pathname, {
    ca: pebble.root,
    checkServerIdentity: () => undefined,
    agent: globalAgent,
  });

function http(pathname: string, host: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: ports.httpPort, path: pathname, headers: { Host: host }, agent: keepAlive },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ...(res.headers.location ? { location: res.headers.location } : {}),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The chain the edge sends, leaf first. */
async function fetchChain(servername: string): Promise<X509Certificate[]> {
  let c = (await viaEdge(ports.httpsPort, servername, '/')).cert;
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw));
    c = c.issuerCertificate;
  }
  return out;
}
