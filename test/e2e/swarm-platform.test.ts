// The platform on a real swarm of three engines on this machine
// (swarm-cluster.ts), through the CLI as an operator runs it with `engine:
// swarm`: the shared services on their hosts; a test instance on the
// application+integration host, its nginx sidecar a service of its own beside
// its Odoo and reaching it by name (decision 0072), a worker's tasks reached
// through that node's own engine (0071), routed by the edge; prod's replicas
// one per production host (0073), a first deploy with its migration, an upgrade
// without migration under load through the edge (no failed request), one with
// a migration, a rollback.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { dockerAt } from '../../src/engines/docker/client.js';
import { SwarmEngine } from '../../src/engines/swarm/engine.js';
import { viaEdge } from '../helpers/edge.js';
import { freePort, startPebble, type PebbleHandle } from '../helpers/pebble.js';
import {
  buildSampleImage,
  makePlatform,
  runCli,
  setUp,
  uniqueName,
  type Data,
  type TestPlatform,
} from './helpers.js';
import { loadImages, startSwarm, type TestSwarm } from './swarm-cluster.js';
import { SETUP, withVersion } from './upgrade-fixture.js';

const prefix = uniqueName('odp-swp');
let swarm: TestSwarm;
let tp: TestPlatform;
let env: NodeJS.ProcessEnv;
let pebble: PebbleHandle | undefined;
let domain = '';

const odp = (args: string[]) => runCli(['-C', tp.dir, ...args], { env, timeoutMs: 900_000 });
const node = (host: string) => swarm.nodes.find((n) => n.hostname === host)!;
const edge = (pathname: string, to = domain) => viaEdge(node('app1').ports[443]!, to, pathname);

/** The versions prod answers with through the edge, over enough requests to reach every replica. */
async function served(): Promise<string[]> {
  // Each request on a connection of its own: the edge balances connections.
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const r = await edge('/web/version');
    assert.equal(r.status, 200, r.body);
    seen.add((JSON.parse(r.body) as { version: string }).version);
  }
  return [...seen].sort();
}

/** Each unit of the instance as `service state on host`, from `odp status --json`. */
async function units(instance: string): Promise<string[]> {
  const r = await odp(['status', tp.project, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { instances } = JSON.parse(r.stdout) as {
    instances: { instance: string; services: { name: string; state: string; node?: string }[] }[];
  };
  const inst = instances.find((i) => i.instance === instance)!;
  return inst.services.map((s) => `${s.name} ${s.state} on ${s.node ?? '?'}`).sort();
}

/** Each running prod Odoo unit's host. */
async function odooHosts(): Promise<string[]> {
  return (await units('prod'))
    .filter((u) => u.startsWith('odoo running'))
    .map((u) => u.split(' on ')[1]!)
    .sort();
}

before(async () => {
  await setUp();
  tp = await makePlatform(uniqueName('swp'));
  domain = `${tp.project}.odoo.example.ch`;
  await buildSampleImage(`${tp.image}:latest`, '1.0.0');
  await buildSampleImage(`${tp.image}:1.0.0`, { version: '1.0.0', files: { 'migration.yml': SETUP } });
  await buildSampleImage(`${tp.image}:1.0.1`, { version: '1.0.1', files: { 'migration.yml': SETUP } });
  const migrated = withVersion(SETUP, '1.1.0', 'echo migrated-to-1.1.0');
  await buildSampleImage(`${tp.image}:1.1.0`, { version: '1.1.0', files: { 'migration.yml': migrated } });
  // The edge and the embedded S3 server run on app1: the edge's ports on loopback for
  // the requests, S3's on the same loopback port as its endpoint says (odp reaches it there).
  const s3Port = await freePort();
  swarm = await startSwarm(prefix, ['app1', 'app2', 'db1'], {
    publish: { app1: [80, 443, [s3Port, s3Port]] },
  });
  env = { DOCKER_HOST: swarm.dockerHost };
  pebble = await startPebble({ httpPort: node('app1').ports[80]!, alwaysValid: true });
  await writeFile(path.join(tp.dir, 'pebble-listener.pem'), pebble.listenerCa);
  const file = path.join(tp.dir, 'platform.yaml');
  const d = parse(await readFile(file, 'utf8')) as Data;
  d.engine = 'swarm';
  const host = (h: string, datacentre: string, labels: string[]) => ({
    address: node(h).ip,
    docker: `tcp://${node(h).ip}:2375`,
    datacentre,
    labels,
  });
  d.hosts = {
    app1: host('app1', 'dc1', ['application', 'production']),
    // The test and integration instances' host too.
    app2: host('app2', 'dc2', ['application', 'production', 'integration']),
    db1: host('db1', 'dc1', ['database']),
  };
  d.services.postgres = { primary: 'db1', port: 5432 };
  d.services.postgresIntegration = { host: 'db1' };
  d.services.redis = { host: 'app1' };
  d.services.redisIntegration = { host: 'db1' };
  d.services.storage = { endpoint: `http://127.0.0.1:${s3Port}`, region: 'us-east-1', embedded: true };
  d.services.edge = { hosts: ['app1'], httpPort: 80, httpsPort: 443 };
  d.acme = {
    directory: pebble.directoryUrl,
    email: 'ops@odp.test',
    challenge: 'http-01',
    caFile: 'pebble-listener.pem',
    verifyChallenges: false,
  };
  await writeFile(file, stringify(d));
  // No registry here: each node gets the images of the tasks it may run, and the
  // manager (app1) every image, since odp checks that an image exists there.
  const odoo = ['1.0.0', '1.0.1', '1.1.0'].map((v) => `${tp.image}:${v}`);
  await Promise.all([
    loadImages(swarm, ['odp/nginx:1.22', 'odp/redis:7', 'odp/postgres:15', ...odoo], ['app1', 'app2']),
    loadImages(swarm, ['odp/haproxy:2.6', 'odp/s3rver:3', `${tp.image}:latest`], ['app1']),
    loadImages(swarm, ['odp/postgres:15', 'odp/redis:7'], ['db1']),
    loadImages(swarm, [`${tp.image}:latest`], ['app2']),
  ]);
  const sync = await odp(['hosts', 'sync']);
  assert.equal(sync.code, 0, sync.stderr);
  const up = await odp(['platform', 'up']);
  assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
  const prov = await odp(['provision', tp.project, 'prod']);
  assert.equal(prov.code, 0, `${prov.stdout}\n${prov.stderr}`);
});

after(async () => {
  await pebble?.stop();
  await swarm?.remove();
});

test('deploy test: on the application+integration host, the sidecar beside its Odoo and through to it, routed by the edge', async () => {
  const r = await odp(['deploy', tp.project, 'test']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual(await units('test'), [
    'db running on app2',
    'nginx running on app2',
    'odoo running on app2',
    'redis running on app2',
  ]);
  const logs = await odp(['logs', tp.project, 'test', '--tail', '3', '--json']);
  assert.equal(logs.code, 0, logs.stderr);
  const lines = logs.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { unit: string; node: string });
  assert.ok(lines.length > 0 && lines.every((l) => l.unit === `${tp.stack}-odoo-1` && l.node === 'app2'));

  // Through the sidecar to Odoo from inside the sidecar's task on a worker, reached
  // through app2's own engine: nginx found Odoo by its name.
  const url = new URL(swarm.dockerHost);
  const engine = new SwarmEngine(dockerAt(`tcp://${url.hostname}:${url.port}`), swarm.dockerHost, {
    app2: `tcp://${node('app2').ip}:2375`,
  });
  const through = await engine.exec(`${tp.stack}-nginx-1`, [
    'bash',
    '-c',
    `exec 3<>/dev/tcp/127.0.0.1/80 && printf 'GET /web/version HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' >&3 && cat <&3`,
  ]);
  assert.equal(through.exitCode, 0, through.stderr);
  assert.match(through.stdout, /^HTTP\/1\.1 200/);

  // The edge on app1 routes the domain to the sidecar on app2; the sidecar's own rules hold.
  const test = `test.${tp.project}.odoo.example.ch`;
  const version = await edge('/web/version', test);
  assert.equal(version.status, 200, version.body);
  assert.match(version.body, /"version"/);
  assert.equal((await edge('/web/database/manager', test)).status, 403);
});

test('first deploy: the migration job, then one replica on each production host, routed by the edge', async () => {
  const r = await odp(['deploy', tp.project, 'prod', '--version', '1.0.0']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual(await odooHosts(), ['app1', 'app2']);
  assert.deepEqual(await served(), ['1.0.0']);
});

test('an upgrade without migration: the new release beside the old one, no failed request through the edge', async (t) => {
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (!stop) {
      const r = await edge('/web/version');
      if (r.status === 200) ok++;
      else failures.push(`${r.status} ${r.body.slice(0, 60)}`);
    }
  })();
  let r;
  try {
    r = await odp(['deploy', tp.project, 'prod', '--version', '1.0.1']);
  } finally {
    stop = true;
    await loop;
  }
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  t.diagnostic(`through the edge during the upgrade: ${ok} answered, ${failures.length} failed`);
  assert.ok(ok > 0);
  assert.deepEqual(failures, []);
  assert.deepEqual(await served(), ['1.0.1']);
  assert.deepEqual(await odooHosts(), ['app1', 'app2']);
});

test('an upgrade with a migration runs it as a job once, then serves the new version; rollback returns', async () => {
  const r = await odp(['deploy', tp.project, 'prod', '--version', '1.1.0']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual(await served(), ['1.1.0']);
  const back = await odp(['rollback', tp.project, 'prod', '--yes']);
  assert.equal(back.code, 0, `${back.stdout}\n${back.stderr}`);
  assert.deepEqual(await served(), ['1.0.1']);
  assert.deepEqual(await odooHosts(), ['app1', 'app2']);
});
