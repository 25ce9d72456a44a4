// `odp deploy PROJECT test` on a real swarm of three engines on this machine
// (swarm-cluster.ts), through the CLI as an operator runs it with `engine:
// swarm`: the instance's units placed by the hosts' labels, the nginx sidecar a
// service of its own on its Odoo's node that reaches Odoo by name (decision
// 0072), a worker's tasks reached through that node's own engine (0071).
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { SwarmEngine } from '../../src/engines/swarm/engine.js';
import { dockerAt } from '../../src/engines/docker/client.js';
import {
  buildSampleImage,
  execIn,
  makePlatform,
  runCli,
  setUp,
  uniqueName,
  type Data,
  type TestPlatform,
} from './helpers.js';
import { viaEdge } from '../helpers/edge.js';
import { startPebble, type PebbleHandle } from '../helpers/pebble.js';
import { loadImages, startSwarm, type TestSwarm } from './swarm-cluster.js';

const prefix = uniqueName('odp-swd');
let swarm: TestSwarm;
let tp: TestPlatform;
let env: NodeJS.ProcessEnv;
let engine: SwarmEngine;
let pebble: PebbleHandle | undefined;

const odp = (args: string[]) => runCli(['-C', tp.dir, ...args], { env, timeoutMs: 600_000 });

/** `host` of the test's swarm: its node's address and its own engine's. */
const node = (host: string) => swarm.nodes.find((n) => n.hostname === host)!;

before(async () => {
  await setUp();
  tp = await makePlatform(uniqueName('swd'));
  await buildSampleImage(`${tp.image}:latest`, '1.0.0');
  // The edge runs on app1: its 80 and 443 on this machine's loopback, where requests go.
  swarm = await startSwarm(prefix, ['app1', 'int1', 'db1'], { publish: { app1: [80, 443] } });
  pebble = await startPebble({ httpPort: node('app1').ports[80]!, alwaysValid: true });
  await writeFile(path.join(tp.dir, 'pebble-listener.pem'), pebble.listenerCa);
  env = { DOCKER_HOST: swarm.dockerHost };
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
    int1: host('int1', 'dc1', ['application', 'integration']),
    db1: host('db1', 'dc2', ['database']),
  };
  d.services.postgres = { primary: 'db1', port: 5432 };
  d.services.postgresIntegration = { host: 'db1' };
  d.services.redis = { host: 'app1' };
  d.services.redisIntegration = { host: 'int1' };
  d.services.edge = { hosts: ['app1'], httpPort: 80, httpsPort: 443 };
  d.acme = {
    directory: pebble.directoryUrl,
    email: 'ops@odp.test',
    challenge: 'http-01',
    caFile: 'pebble-listener.pem',
    verifyChallenges: false,
  };
  await writeFile(file, stringify(d));
  // No registry here: each node gets the images its tasks need (the test instance runs on int1).
  await loadImages(swarm, [
    'odp/postgres:15',
    'odp/redis:7',
    'odp/nginx:1.22',
    'odp/haproxy:2.6',
    `${tp.image}:latest`,
  ]);
  const sync = await odp(['hosts', 'sync']);
  assert.equal(sync.code, 0, sync.stderr);
  const url = new URL(swarm.dockerHost);
  engine = new SwarmEngine(dockerAt(`tcp://${url.hostname}:${url.port}`), swarm.dockerHost, {
    int1: `tcp://${node('int1').ip}:2375`,
  });
});

after(async () => {
  await pebble?.stop();
  await swarm?.remove();
});

test('deploy test: every unit on an application+integration node, healthy, the sidecar beside its Odoo and through to it', async () => {
  const r = await odp(['deploy', tp.project, 'test', '--tag', 'latest']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);

  const status = await odp(['status', tp.project, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const inst = (
    JSON.parse(status.stdout) as {
      instances: { instance: string; services: { name: string; state: string; node?: string }[] }[];
    }
  ).instances.find((i) => i.instance === 'test');
  // Each unit's host: all on int1, the only application+integration node.
  assert.deepEqual(
    inst!.services.map((s) => `${s.name} ${s.state} on ${s.node}`),
    ['db running on int1', 'nginx running on int1', 'odoo running on int1', 'redis running on int1'],
  );
  const logs = await odp(['logs', tp.project, 'test', '--tail', '3', '--json']);
  assert.equal(logs.code, 0, logs.stderr);
  const lines = logs.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { unit: string; node: string });
  assert.ok(lines.length > 0 && lines.every((l) => l.unit === `${tp.stack}-odoo-1` && l.node === 'int1'));

  // What the manager says, for its part.
  const manager = node('app1').container;
  const tasks = await execIn(manager, [
    'docker',
    'service',
    'ps',
    '--filter',
    'desired-state=running',
    '--format',
    '{{.Name}} {{.Node}}',
    `${tp.stack}-odoo-1`,
    `${tp.stack}-nginx-1`,
    `${tp.stack}-db-1`,
    `${tp.stack}-redis-1`,
  ]);
  assert.equal(tasks.code, 0, tasks.out);
  const nodes = new Set(
    tasks.out
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[1]),
  );
  assert.deepEqual([...nodes], ['int1']);

  // Through the sidecar to Odoo, from inside the sidecar's task on a worker
  // (reached through int1's own engine): nginx found Odoo by its unit's name.
  const through = await engine.exec(`${tp.stack}-nginx-1`, [
    'bash',
    '-c',
    `exec 3<>/dev/tcp/127.0.0.1/80 && printf 'GET /web/version HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' >&3 && cat <&3`,
  ]);
  assert.equal(through.exitCode, 0, through.stderr);
  assert.match(through.stdout, /^HTTP\/1\.1 200/);
  assert.match(through.stdout, /"version"/);
});

test('platform up on the swarm, then the edge on app1 routes the test instance to its sidecar on int1', async () => {
  const up = await odp(['platform', 'up']);
  assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
  const again = await odp(['deploy', tp.project, 'test']);
  assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
  const domain = `test.${tp.project}.odoo.example.ch`;
  const r = await viaEdge(node('app1').ports[443]!, domain, '/web/version');
  assert.equal(r.status, 200, r.body);
  assert.match(r.body, /"version"/);
  // The sidecar's own answers: the database manager is refused there, not by Odoo.
  const manager = await viaEdge(node('app1').ports[443]!, domain, '/web/database/manager');
  assert.equal(manager.status, 403);
});
