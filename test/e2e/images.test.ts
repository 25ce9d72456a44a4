// End to end: build the platform images through buildImages, then run them for
// real on a private Docker network and check the contracts the platform relies
// on (postgres/redis service images, the reference Odoo workload, nginx and
// haproxy config validation). Everything this file creates carries the labels
// odp.test=images and odp.test.run=<id>, and is removed in `after`, pass or fail.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import tarFs from 'tar-fs';
import WebSocket from 'ws';
import { buildImages } from '../../src/images/build.js';
import { catalog } from '../../src/images/catalog.js';
import { followDockerStream } from '../../src/engines/docker/stream.js';
import {
  docker,
  images,
  execIn,
  removeLabelled,
  request,
  sleep,
  SLOW_MACHINE_MS,
  type Reply,
} from './helpers.js';

const runId = randomBytes(4).toString('hex');
const labels = { 'odp.test': 'images', 'odp.test.run': runId };
const net = `odp-images-${runId}`;
const name = (n: string): string => `odp-images-${runId}-${n}`;
const projectImage = `odp-test/images-project:${runId}`;
const PG_PASSWORD = `pg-${randomBytes(6).toString('hex')}`;
const ADMIN_PASSWORD = `admin-${randomBytes(6).toString('hex')}`;

const MIGRATION = `migration:
  options:
    install_command: odoo
  versions:
    - version: setup
      operations:
        post:
          - ref-install-cloud-platform
          - ref-load-sample 5
      addons:
        upgrade: [base, web]
`;
// Fails on purpose, after printing a line that must end up in marabunta_version.log.
const FAILING_MIGRATION = `migration:
  versions:
    - version: setup
      operations:
        pre:
          - echo "about to fail"
          - exit 3
`;
// Slow on purpose, so two containers started together overlap on the lock.
const SLOW_MIGRATION = `migration:
  versions:
    - version: setup
      operations:
        pre:
          - ref-sql "CREATE TABLE IF NOT EXISTS lock_probe (n int)"
          - sleep 5
          - ref-sql "INSERT INTO lock_probe VALUES (1)"
`;

const form = (
  o: Record<string, string>,
): { method: string; headers: Record<string, string>; body: string } => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(o).toString(),
});

interface Started {
  c: Dockerode.Container;
  port: (p: number) => number;
}

async function start(
  n: string,
  image: string,
  opts: { env?: Record<string, string>; ports?: number[] } = {},
): Promise<Started> {
  const ports = opts.ports ?? [];
  const c = await docker.createContainer({
    name: name(n),
    Image: image,
    Labels: labels,
    Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ExposedPorts: Object.fromEntries(ports.map((p) => [`${p}/tcp`, {}])),
    HostConfig: {
      NetworkMode: net,
      // Published on loopback only, on ports the engine picks.
      PortBindings: Object.fromEntries(
        ports.map((p) => [`${p}/tcp`, [{ HostIp: '127.0.0.1', HostPort: '' }]]),
      ),
    },
  });
  await c.start();
  const info = await c.inspect();
  const port = (p: number): number => Number(info.NetworkSettings.Ports[`${p}/tcp`]?.[0]?.HostPort);
  return { c, port };
}

/** stdout+stderr of a container (the stream is multiplexed: 8-byte frame headers). */
async function logsOf(c: Dockerode.Container): Promise<string> {
  const buf = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  const parts: Buffer[] = [];
  for (let i = 0; i + 8 <= buf.length;) {
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(parts).toString();
}

const psql = async (db: string, sql: string): Promise<string> => {
  const r = await execIn(pg.c.id, ['psql', '-U', 'odoo', '-d', db, '-tA', '-c', sql]);
  assert.equal(r.code, 0, r.out);
  return r.out.trim();
};

/** Poll until `url` answers 200; fail early with the logs if the container died. */
async function waitHttp(s: Started, url: string, timeoutMs = SLOW_MACHINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await request(url).catch(() => undefined);
    if (res?.status === 200) return;
    const state = (await s.c.inspect()).State;
    if (!state.Running)
      assert.fail(`container exited (${state.ExitCode}) before ${url} answered:\n${await logsOf(s.c)}`);
    await sleep(250);
  }
  assert.fail(`${url} did not answer 200 within ${timeoutMs} ms:\n${await logsOf(s.c)}`);
}

/** The exit code of a container expected to stop by itself (NaN if it does not). */
async function exitCode(c: Dockerode.Container, timeoutMs = SLOW_MACHINE_MS): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  // Polled rather than `wait`ed: a pending wait request would outlive a timeout.
  while (Date.now() < deadline) {
    const state = (await c.inspect()).State;
    if (!state.Running && state.Status !== 'created') return state.ExitCode;
    await sleep(100);
  }
  return NaN;
}

async function buildProjectImage(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'odp-images-project-'));
  try {
    await writeFile(
      path.join(dir, 'Dockerfile'),
      'FROM odp/odoo-reference:base\nCOPY VERSION migration.yml /odoo/\nCOPY migration-*.yml /odoo/\n',
    );
    await writeFile(path.join(dir, 'VERSION'), '1.2.3\n');
    await writeFile(path.join(dir, 'migration.yml'), MIGRATION);
    await writeFile(path.join(dir, 'migration-slow.yml'), SLOW_MIGRATION);
    await writeFile(path.join(dir, 'migration-failing.yml'), FAILING_MIGRATION);
    const stream = await docker.buildImage(Readable.from(tarFs.pack(dir), { objectMode: false }), {
      t: projectImage,
      labels,
    });
    await followDockerStream(docker, stream, `building ${projectImage}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const odooEnv = (db: string): Record<string, string> => ({
  DB_HOST: name('db'),
  DB_USER: 'odoo',
  DB_PASSWORD: PG_PASSWORD,
  DB_NAME: db,
  ADMIN_PASSWD: ADMIN_PASSWORD,
  RUNNING_ENV: 'test',
  ODOO_SESSION_REDIS: '1',
  ODOO_SESSION_REDIS_HOST: name('redis'),
  ODOO_SESSION_REDIS_PREFIX: 'demo-odoo-test',
});

let pg: Started;
let redis: Started;
let odoo: Started;
let base: string;

before(async () => {
  const built = await buildImages({ images });
  assert.equal(built.length, catalog.length);
  // Inputs unchanged: the second run must not build anything.
  const again = await buildImages({ images });
  assert.deepEqual(
    again.filter((r) => !r.cached).map((r) => r.image),
    [],
  );
  await buildProjectImage();
  await docker.createNetwork({ Name: net, Labels: labels, CheckDuplicate: true });
  pg = await start('db', 'odp/postgres:15', {
    env: { POSTGRES_USER: 'odoo', POSTGRES_PASSWORD: PG_PASSWORD },
  });
  redis = await start('redis', 'odp/redis:7');
  odoo = await start('odoo', projectImage, { env: odooEnv('demo'), ports: [8069, 8072] });
  base = `http://127.0.0.1:${odoo.port(8069)}`;
  await waitHttp(odoo, `${base}/web/health`);
});

after(async () => {
  await removeLabelled(`odp.test.run=${runId}`);
  await docker
    .getImage(projectImage)
    .remove({ force: true })
    .catch(() => undefined);
});

test('the reference workload serves its version and migrated with marabunta', async () => {
  assert.deepEqual(JSON.parse((await request(`${base}/web/version`)).body), { version: '1.2.3' });
  assert.equal(await psql('demo', 'SELECT number, date_done IS NOT NULL FROM marabunta_version'), 'setup|t');
  assert.equal(await psql('demo', 'SELECT count(*) FROM res_partner'), '5');
  assert.equal(
    await psql('demo', "SELECT string_agg(name, ',' ORDER BY name) FROM ir_module_module"),
    'base,web',
  );
  const params = await psql('demo', "SELECT key || '=' || value FROM ir_config_parameter ORDER BY key");
  assert.match(params, /^cloud\.platform\.kind=exoscale$/m);
  assert.match(params, /^ir_attachment\.location=db$/m);
  const home = (await request(`${base}/`)).body;
  assert.match(home, /Version: 1\.2\.3/);
  assert.match(home, /Environment: test/);
  // Several requests at once, all answered.
  const many = await Promise.all(Array.from({ length: 20 }, () => request(`${base}/web/version`)));
  assert.deepEqual(new Set(many.map((r) => r.status)), new Set([200]));
});

test('a login stores the session in redis under session::<prefix>:<sid>', async () => {
  assert.equal((await request(`${base}/web/login`, form({ login: 'admin', password: 'wrong' }))).status, 401);
  const res = await request(`${base}/web/login`, form({ login: 'admin', password: ADMIN_PASSWORD }));
  assert.equal(res.status, 200);
  const sid = /session_id=([a-f0-9]{40})/.exec(String(res.headers['set-cookie']))?.[1];
  assert.ok(sid, 'a session_id cookie');
  const key = `session::demo-odoo-test:${sid}`;
  assert.equal((await execIn(redis.c.id, ['redis-cli', 'EXISTS', key])).out.trim(), '1');
  assert.ok(Number((await execIn(redis.c.id, ['redis-cli', 'TTL', key])).out) > 6 * 86400);
  const info = await request(`${base}/web/session/get_session_info`, {
    headers: { cookie: `session_id=${sid}` },
  });
  assert.equal(info.status, 200);
  assert.equal((JSON.parse(info.body) as { username: string }).username, 'admin');
  assert.equal((await request(`${base}/web/session/get_session_info`)).status, 401);
  // Attachments go to the database on a test instance and come back intact.
  const up = await request(`${base}/web/binary/upload_attachment?name=a.txt`, {
    method: 'POST',
    body: 'hello odp',
  });
  const { id, checksum } = JSON.parse(up.body) as { id: number; checksum: string };
  assert.equal(checksum, createHash('sha1').update('hello odp').digest('hex'));
  assert.equal((await request(`${base}/web/content/${id}`)).body, 'hello odp');
  const logs = await logsOf(odoo.c);
  assert.ok(!logs.includes(PG_PASSWORD) && !logs.includes(ADMIN_PASSWORD), 'no secret in the logs');
});

test('port 8072 echoes websocket text frames and refuses plain GETs', async () => {
  const port = odoo.port(8072);
  assert.equal((await request(`http://127.0.0.1:${port}/websocket`)).status, 400);
  assert.equal((await request(`http://127.0.0.1:${port}/longpolling/poll`)).status, 200);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/websocket`);
  const echoed = await new Promise<string>((resolve, reject) => {
    ws.on('open', () => ws.send('ping from odp'));
    ws.on('message', (data) => resolve(String(data)));
    ws.on('error', reject);
  });
  ws.close();
  assert.equal(echoed, 'ping from odp');
});

test('two containers on one database: only one runs the migration', async () => {
  const env = {
    ...odooEnv('lockdb'),
    MIGRATION_CONFIG_FILE: '/odoo/migration-slow.yml',
    MARABUNTA_WEB_RESP_RETRY_AFTER: '120',
  };
  const [a, b] = await Promise.all([
    start('lock-a', projectImage, { env, ports: [8069] }),
    start('lock-b', projectImage, { env, ports: [8069] }),
  ]);
  const health = (s: Started): string => `http://127.0.0.1:${s.port(8069)}/web/health`;
  // While migrating, 8069 is marabunta's maintenance page (bounded poll).
  let maintenance: Reply | undefined;
  for (const end = Date.now() + SLOW_MACHINE_MS; Date.now() < end && maintenance?.status !== 503;) {
    maintenance = await request(health(a)).catch(() => undefined);
    if (maintenance?.status !== 503) await sleep(100);
  }
  assert.equal(maintenance?.status, 503);
  assert.equal(maintenance?.headers['retry-after'], '120');
  await Promise.all([waitHttp(a, health(a)), waitHttp(b, health(b))]);
  assert.equal(await psql('lockdb', 'SELECT count(*) FROM lock_probe'), '1');
  assert.equal(
    await psql('lockdb', 'SELECT count(*) FROM marabunta_version WHERE date_done IS NOT NULL'),
    '1',
  );
  const logs = [await logsOf(a.c), await logsOf(b.c)];
  const waited = logs.filter((l) => l.includes('A concurrent process is already running the migration'));
  assert.equal(waited.length, 1, `exactly one container waited for the other:\n${logs.join('\n----\n')}`);
  // SIGTERM: a graceful stop, exit 0, within seconds.
  const t0 = Date.now();
  await a.c.stop({ t: 10 });
  assert.equal((await a.c.inspect()).State.ExitCode, 0);
  assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
});

test('a failed migration stops the container and blocks the next start', async () => {
  const env = { ...odooEnv('faildb'), MIGRATION_CONFIG_FILE: '/odoo/migration-failing.yml' };
  const first = await start('fail-1', projectImage, { env });
  assert.equal(await exitCode(first.c), 1);
  assert.equal(
    await psql('faildb', "SELECT number || ':' || (date_done IS NULL) FROM marabunta_version"),
    'setup:true',
  );
  assert.match(
    await psql('faildb', 'SELECT log FROM marabunta_version'),
    /about to fail[\s\S]*exit status 3/,
  );
  const second = await start('fail-2', projectImage, { env });
  assert.equal(await exitCode(second.c), 1);
  assert.match(await logsOf(second.c), /Upgrade of version setup has been attempted and failed/);
});

test('cloud platform checks stop a misconfigured instance', async () => {
  // The demo database is installed for test (attachments in db): prod must refuse it.
  const prod = await start('prod', projectImage, {
    env: {
      ...odooEnv('demo'),
      RUNNING_ENV: 'prod',
      MIGRATE: 'False',
      ODOO_SESSION_REDIS_PREFIX: 'demo-odoo-prod',
    },
  });
  assert.equal(await exitCode(prod.c), 1);
  assert.match(await logsOf(prod.c), /cloud platform check failed.*s3 must be used/);
});

test('nginx refuses an invalid NGINX_CONF and serves a valid one', async () => {
  const bad = await start('nginx-bad', 'odp/nginx:1.22', {
    env: { NGINX_CONF: 'events {}\nhttp { bogus_directive on; }' },
  });
  assert.notEqual(await exitCode(bad.c), 0);
  assert.match(await logsOf(bad.c), /unknown directive "bogus_directive"/);
  const conf = "events {}\nhttp { server { listen 80; location / { return 200 'odp nginx'; } } }";
  const good = await start('nginx', 'odp/nginx:1.22', { env: { NGINX_CONF: conf }, ports: [80] });
  await waitHttp(good, `http://127.0.0.1:${good.port(80)}/`);
  assert.equal((await request(`http://127.0.0.1:${good.port(80)}/`)).body, 'odp nginx');
});

test('haproxy validates HAPROXY_CFG and reloads on SIGUSR2', async () => {
  const bad = await start('haproxy-bad', 'odp/haproxy:2.6', {
    env: { HAPROXY_CFG: 'frontend x\n  bind :80\n  bogus_keyword' },
  });
  assert.notEqual(await exitCode(bad.c), 0);
  assert.match(await logsOf(bad.c), /invalid configuration/);
  const cfg = [
    'defaults',
    '  mode http',
    '  timeout client 5s',
    '  timeout connect 5s',
    '  timeout server 5s',
    'frontend f',
    '  bind :8404',
    '  monitor-uri /healthz',
  ].join('\n');
  const good = await start('haproxy', 'odp/haproxy:2.6', { env: { HAPROXY_CFG: cfg }, ports: [8404] });
  const url = `http://127.0.0.1:${good.port(8404)}/healthz`;
  await waitHttp(good, url);
  // The reload is observed in the master's log, polled with a deadline: a busy machine
  // may take seconds to fork the new worker. The worker serves before the master
  // handles signals, and PID 1 drops a signal it has no handler for (CI saw it):
  // the signal is sent again every 5 s, as the edge controller does.
  const reloaded = /Reloading HAProxy[\s\S]*Former worker \(\d+\) exited with code 0/;
  let sent = 0;
  for (const end = Date.now() + SLOW_MACHINE_MS; Date.now() < end; await sleep(250)) {
    if (Date.now() - sent > 5000) {
      await good.c.kill({ signal: 'SIGUSR2' });
      sent = Date.now();
    }
    if (reloaded.test(await logsOf(good.c))) break;
  }
  assert.match(await logsOf(good.c), reloaded);
  await waitHttp(good, url);
  assert.ok((await good.c.inspect()).State.Running);
});
