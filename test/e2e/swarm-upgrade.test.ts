// Prod on a real swarm of three engines on this machine (swarm-cluster.ts),
// through the CLI as an operator runs it with `engine: swarm`: the shared
// services on their hosts, prod's replicas one per production host (decision
// 0073), a first deploy with its migration, an upgrade without migration under
// load through the edge (no failed request), one with a migration, a rollback.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
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

const prefix = uniqueName('odp-swu');
let swarm: TestSwarm;
let tp: TestPlatform;
let env: NodeJS.ProcessEnv;
let pebble: PebbleHandle | undefined;
let domain = '';

const odp = (args: string[]) => runCli(['-C', tp.dir, ...args], { env, timeoutMs: 900_000 });
const node = (host: string) => swarm.nodes.find((n) => n.hostname === host)!;
const edge = (pathname: string) => viaEdge(node('app1').ports[443]!, domain, pathname);

/** The versions prod answers with through the edge, over enough requests to reach every replica. */
async function served(): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const r = await edge('/web/version');
    assert.equal(r.status, 200, r.body);
    seen.add((JSON.parse(r.body) as { version: string }).version);
  }
  return [...seen].sort();
}

/** Each prod Odoo unit's host, from `odp status --json`. */
async function odooHosts(): Promise<string[]> {
  const r = await odp(['status', tp.project, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { instances } = JSON.parse(r.stdout) as {
    instances: { instance: string; services: { name: string; state: string; node?: string }[] }[];
  };
  const prod = instances.find((i) => i.instance === 'prod')!;
  return prod.services
    .filter((s) => s.name === 'odoo' && s.state === 'running')
    .map((s) => s.node ?? '?')
    .sort();
}

before(async () => {
  await setUp();
  tp = await makePlatform(uniqueName('swu'));
  domain = `${tp.project}.odoo.example.ch`;
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
    app2: host('app2', 'dc2', ['application', 'production']),
    db1: host('db1', 'dc1', ['database', 'integration']),
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
  // No registry here: each node gets the images of the tasks it may run.
  const odoo = ['1.0.0', '1.0.1', '1.1.0'].map((v) => `${tp.image}:${v}`);
  await Promise.all([
    loadImages(swarm, ['odp/nginx:1.22', 'odp/redis:7', ...odoo], ['app1', 'app2']),
    loadImages(swarm, ['odp/haproxy:2.6', 'odp/s3rver:3'], ['app1']),
    loadImages(swarm, ['odp/postgres:15', 'odp/redis:7'], ['db1']),
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
