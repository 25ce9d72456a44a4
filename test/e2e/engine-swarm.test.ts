// The Swarm engine against a real swarm of three engines on this machine
// (swarm-cluster.ts): units as services placed by node labels, observed,
// reached on their overlay network and published port, stopped, started and
// removed without a trace; one-off jobs whose failure is final; logs; exec
// through the engine of the task's node where odp has its address
// (docs/decisions/0069, 0071).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import Dockerode from 'dockerode';
import type { UnitSpec } from '../../src/engines/engine.js';
import { SwarmCluster } from '../../src/engines/swarm/cluster.js';
import { SwarmEngine } from '../../src/engines/swarm/engine.js';
import { unitName, type Service } from '../../src/model/stack.js';
import { Secret } from '../../src/secret.js';
import { execIn, setUp, sleep, SLOW_MACHINE_MS, uniqueName } from './helpers.js';
import { loadImages, startSwarm, type TestSwarm } from './swarm-cluster.js';

const P = uniqueName('swe');
const NET = `${P}-net`;
const STACK = `${P}-odoo-integration`;
const wait = { timeoutMs: SLOW_MACHINE_MS };
const on = (label: string) => `node.labels.odp.${label}==true`;
const INTEGRATION = [on('application'), on('integration')];
const PRODUCTION = [on('production'), on('application')];

let swarm: TestSwarm;
let engine: SwarmEngine;
let manager: Dockerode;
/** Node ids by hostname. */
const nodes: Record<string, string> = {};

/** A Redis unit of the test's integration instance (its health check is odp's probe; Swarm runs none, 0074). */
function redis(
  name: string,
  constraints: string[],
  o: { volume?: string; publish?: boolean; intervalSeconds?: number } = {},
): UnitSpec {
  const service: Service = {
    name,
    role: 'redis',
    image: 'odp/redis:7',
    command: ['redis-server', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'],
    env: new Map(),
    externalNetworks: [],
    ports: [{ container: 6379 }],
    volumes: o.volume ? [{ volume: o.volume, target: '/data' }] : [],
    dependsOn: [],
    health: {
      command: ['redis-cli', 'ping'],
      intervalSeconds: o.intervalSeconds ?? 2,
      timeoutSeconds: 5,
      retries: 3,
      startPeriodSeconds: 60,
    },
    placement: { labels: [], global: false, replicas: 1 },
    labels: { 'odp.platform': P, 'odp.project': P, 'odp.instance': 'integration', 'odp.service': name },
  };
  return {
    stack: STACK,
    network: NET,
    service,
    replica: 1,
    configHash: `hash-${name}`,
    publish: o.publish ? [{ container: 6379, host: 0, ip: '127.0.0.1' }] : [],
    placement: { constraints },
  };
}
const nameOf = (u: UnitSpec) => unitName(STACK, u.service.name, 1);

/** The nodes the unit's tasks are on now (those not ended). */
async function placedOn(unit: string): Promise<string[]> {
  const tasks = (await manager.listTasks({ filters: { name: [`${unit}.`] } })) as {
    NodeID: string;
    Status: { State: string };
  }[];
  const byId = Object.fromEntries(Object.entries(nodes).map(([h, id]) => [id, h]));
  return tasks.filter((t) => t.Status.State === 'running').map((t) => byId[t.NodeID] ?? t.NodeID);
}

/**
 * Where the manager says the unit runs, once it says so: a node reports its
 * task running a moment after the container answers odp's probe.
 */
async function runsOn(unit: string): Promise<string[]> {
  const deadline = Date.now() + SLOW_MACHINE_MS;
  let on = await placedOn(unit);
  while (on.length === 0 && Date.now() < deadline) {
    await sleep(500);
    on = await placedOn(unit);
  }
  return on;
}

/**
 * What each node still holds of the test's units: containers (by name) and
 * volumes. Polled until empty: a node removes a task's container a moment after
 * the manager forgets the task.
 */
async function leftOnNodes(): Promise<Record<string, string>> {
  const left = async () => {
    const out: Record<string, string> = {};
    for (const n of swarm.nodes) {
      const c = await execIn(n.container, ['docker', 'ps', '-a', '--format', '{{.Names}}']);
      const v = await execIn(n.container, ['docker', 'volume', 'ls', '-q']);
      const found = `${c.out.trim()} ${v.out.trim()}`.trim();
      if (found) out[n.hostname] = found;
    }
    return out;
  };
  const deadline = Date.now() + SLOW_MACHINE_MS;
  let found = await left();
  while (Object.keys(found).length > 0 && Date.now() < deadline) {
    await sleep(500);
    found = await left();
  }
  return found;
}

before(async () => {
  await setUp();
  swarm = await startSwarm(P, ['app1', 'app2', 'int1']);
  const url = new URL(swarm.dockerHost);
  manager = new Dockerode({ host: url.hostname, port: Number(url.port), protocol: 'http' });
  // app2's own engine is declared (hosts.app2.docker); int1's is not.
  const app2 = swarm.nodes.find((n) => n.hostname === 'app2')!;
  engine = new SwarmEngine(manager, swarm.dockerHost, { app2: `tcp://${app2.ip}:2375` });
  const cluster = new SwarmCluster(manager, swarm.dockerHost);
  for (const n of await cluster.nodes()) {
    nodes[n.hostname] = n.id;
    const labels = n.hostname === 'int1' ? ['application', 'integration'] : ['application', 'production'];
    const wanted = Object.fromEntries([['odp.host', n.hostname], ...labels.map((l) => [`odp.${l}`, 'true'])]);
    await cluster.setNodeLabels(n.id, n.version, { ...n.labels, ...wanted });
  }
  await loadImages(swarm, ['odp/redis:7', 'odp/debian:bookworm']);
  await engine.ensureNetwork(NET, { 'odp.platform': P, 'odp.project': P });
});

after(async () => {
  await swarm?.remove(); // the nodes, and every service, task, network and volume with them
});

test('ping: a manager answers; observe: nothing yet, the overlay network by its label', async () => {
  await engine.ping();
  const seen = await engine.observe({ platform: P });
  assert.deepEqual(seen.units, []);
  assert.deepEqual(seen.networks, [NET]);
});

test('a unit runs on a node carrying its constraint’s labels, and only there; observe reports it', async () => {
  const u = redis('cache', INTEGRATION);
  await engine.run(u);
  await engine.waitReady(nameOf(u), { command: ['redis-cli', 'ping'], timeoutSeconds: 5 }, wait);
  assert.deepEqual(await runsOn(nameOf(u)), ['int1']);
  const prod = redis('sessions', PRODUCTION);
  await engine.run(prod);
  await engine.waitReady(nameOf(prod), undefined, wait);
  const [where] = await runsOn(nameOf(prod));
  assert.ok(where === 'app1' || where === 'app2', where);

  const seen = await engine.observe({ platform: P, instance: 'integration' });
  const cache = seen.units.find((x) => x.name === nameOf(u));
  assert.ok(cache);
  assert.equal(cache.state, 'running');
  // No Swarm health check (0074): the engine reports none; odp's probe said it was ready.
  assert.equal(cache.health, 'none');
  assert.deepEqual(
    [cache.project, cache.instance, cache.service, cache.replica, cache.configHash, cache.image],
    [P, 'integration', 'cache', 1, 'hash-cache', 'odp/redis:7'],
  );
  assert.match(cache.imageId, /^sha256:/);
  const explained = await engine.explain(nameOf(u));
  assert.equal(explained?.running, true);
});

test('a constraint no node meets: the wait fails saying why, within its deadline', async () => {
  const u = redis('nowhere', [on('database')]);
  await engine.run(u);
  await assert.rejects(
    engine.waitReady(nameOf(u), undefined, { timeoutMs: 5000 }),
    /did not become healthy within 5s: its task is pending \(no suitable node/,
  );
  await engine.remove(nameOf(u));
});

test('address: a task on another node reaches the unit at its overlay address; logs show its start', async () => {
  const server = nameOf(redis('cache', INTEGRATION));
  const ip = await engine.address(server, NET);
  assert.match(ip ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  // A job on a production node (not int1) asks the server over the overlay network.
  const r = await engine.runTask(redis('client', PRODUCTION), ['redis-cli', '-h', ip!, 'ping']);
  assert.deepEqual(r, { exitCode: 0, output: 'PONG\n' });
  assert.match(await engine.lastLogs(server, 20), /Ready to accept connections/);
  const follow = await engine.logs(server, { follow: true, tail: 5 });
  const first = await new Promise<string>((resolve, reject) => {
    follow.once('data', (c: Buffer) => resolve(c.toString()));
    follow.once('error', reject);
  });
  (follow as NodeJS.ReadableStream & { destroy(): void }).destroy();
  assert.ok(first.length > 0);
});

test('endpoint: the node’s address and the port its task publishes in host mode', async () => {
  const u = redis('published', INTEGRATION, { publish: true });
  await engine.run(u);
  await engine.waitReady(nameOf(u), undefined, wait);
  const ep = await engine.endpoint(nameOf(u), 6379);
  const int1 = swarm.nodes.find((n) => n.hostname === 'int1')!;
  assert.equal(ep?.host, int1.ip);
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect(ep!.port, ep!.host, () => s.write('PING\r\n'));
    s.once('data', (d) => {
      resolve(d.toString());
      s.end();
    });
    s.once('error', reject);
  });
  assert.equal(reply, '+PONG\r\n');
  assert.equal(await engine.endpoint(nameOf(u), 80), undefined);
});

test('stop waits for the task to end and the unit stays stopped; start brings it back', async () => {
  const unit = nameOf(redis('sessions', PRODUCTION));
  await engine.stop(unit);
  assert.deepEqual(await placedOn(unit), []);
  const stopped = (await engine.observe({ platform: P })).units.find((x) => x.name === unit);
  assert.equal(stopped?.state, 'exited');
  await assert.rejects(engine.waitReady(unit, undefined, wait), /is stopped/);
  await engine.start(unit);
  await engine.waitReady(unit, undefined, wait);
  assert.equal((await runsOn(unit)).length, 1);
});

test('create makes a unit of 0 replicas; start runs it', async () => {
  const u = redis('later', INTEGRATION);
  await engine.create(u);
  const made = (await engine.observe({ platform: P })).units.find((x) => x.name === nameOf(u));
  assert.equal(made?.state, 'created');
  assert.deepEqual(await placedOn(nameOf(u)), []);
  await engine.start(nameOf(u));
  await engine.waitReady(nameOf(u), undefined, wait);
  assert.deepEqual(await runsOn(nameOf(u)), ['int1']);
});

test('one-off jobs: exit code and output; a failure is final, never retried', async () => {
  assert.deepEqual(
    await engine.runOneOff('odp/debian:bookworm', ['sh', '-c', 'echo "hello $WHO"'], { WHO: 'swarm' }),
    {
      exitCode: 0,
      output: 'hello swarm\n',
    },
  );
  const job = await engine.createTask(redis('migrate', INTEGRATION), [
    'sh',
    '-c',
    'echo failing >&2; exit 3',
  ]);
  const r = await engine.startTask(job);
  assert.deepEqual(r, { exitCode: 3, output: 'failing\n' });
  // Another job runs meanwhile; the failed one never got a second task.
  assert.equal((await engine.runOneOff('odp/debian:bookworm', ['true'])).exitCode, 0);
  const tasks = (await manager.listTasks({ filters: { name: [`${job}.`] } })) as {
    Status: { State: string };
  }[];
  assert.ok(tasks.length <= 1, JSON.stringify(tasks));
  assert.ok(
    tasks.every((t) => t.Status.State === 'failed'),
    JSON.stringify(tasks),
  );
  await engine.remove(job);
});

test('exec reaches a task through its node’s engine (the readiness probe too); a node without an address is refused, saying so', async () => {
  // Units have no Swarm health check (0074): odp's probe, run in the task's
  // container through its node's engine, tells that it is ready.
  for (const host of ['app1', 'app2']) {
    const u = redis(`on-${host}`, [`node.labels.odp.host==${host}`], { intervalSeconds: 600 });
    await engine.run(u);
    await engine.waitReady(nameOf(u), { command: ['redis-cli', 'ping'], timeoutSeconds: 5 }, wait);
    assert.deepEqual(await runsOn(nameOf(u)), [host]);
    const seen = (await engine.observe({ platform: P })).units.find((x) => x.name === nameOf(u));
    assert.deepEqual([seen?.state, seen?.health], ['running', 'none']);
    const r = await engine.exec(nameOf(u), ['redis-cli', 'ping']);
    assert.deepEqual([r.exitCode, r.stdout], [0, 'PONG\n']);
  }
  await assert.rejects(
    engine.exec(nameOf(redis('cache', INTEGRATION)), ['redis-cli', 'ping']),
    (e: Error & { hint?: string }) => {
      assert.match(e.message, /runs on node int1, whose engine odp has no address for/);
      assert.match(e.hint ?? '', /hosts\.<host>\.docker/);
      return true;
    },
  );
});

test('a secret the image reads from a file is a Swarm secret: a file in the task, not in its environment or its spec', async () => {
  const base = redis('vault', [`node.labels.odp.host==app2`]);
  const u: UnitSpec = {
    ...base,
    service: {
      ...base.service,
      env: new Map([['VAULT_TOKEN', new Secret('s3cr3t-value')]]),
      fileSecrets: { VAULT_TOKEN: 'VAULT_TOKEN_FILE' },
    },
  };
  await engine.run(u);
  await engine.waitReady(nameOf(u), { command: ['redis-cli', 'ping'], timeoutSeconds: 5 }, wait);
  const r = await engine.exec(nameOf(u), [
    'sh',
    '-c',
    'cat "$VAULT_TOKEN_FILE"; echo; echo "${VAULT_TOKEN:-unset}"',
  ]);
  assert.deepEqual(r.stdout.split('\n').slice(0, 2), ['s3cr3t-value', 'unset']);
  const inspected = JSON.stringify(await manager.getService(nameOf(u)).inspect());
  assert.ok(!inspected.includes('s3cr3t'));
  assert.equal((await manager.listSecrets({ filters: { label: [`odp.unit=${nameOf(u)}`] } })).length, 1);
  await engine.remove(nameOf(u));
  assert.deepEqual(await manager.listSecrets({ filters: { label: [`odp.unit=${nameOf(u)}`] } }), []);
});

test('remove waits until the tasks are gone: a removed unit leaves nothing on any node', async (t) => {
  // On a worker: its volume is removed through that node's own engine.
  const withVolume = redis('kept', [`node.labels.odp.host==app2`], { volume: `${P}-kept` });
  await engine.run(withVolume);
  await engine.waitReady(nameOf(withVolume), undefined, wait);
  const app2 = swarm.nodes.find((n) => n.hostname === 'app2')!.container;
  const volume = await execIn(app2, ['docker', 'volume', 'inspect', '-f', '{{json .Labels}}', `${P}-kept`]);
  assert.deepEqual(JSON.parse(volume.out), {
    'odp.platform': P,
    'odp.project': P,
    'odp.instance': 'integration',
  });
  for (const u of (await engine.observe({ platform: P })).units) await engine.remove(u.name);
  assert.deepEqual(await manager.listServices({ filters: { label: [`odp.platform=${P}`] } }), []);
  assert.deepEqual(await manager.listTasks(), []);
  const removed = Date.now();
  await engine.removeVolume(`${P}-kept`); // once the node has let go of the container
  await engine.removeNetwork(NET);
  assert.deepEqual(await leftOnNodes(), {});
  t.diagnostic(`nodes empty ${Date.now() - removed} ms after the manager forgot the tasks`);
  assert.deepEqual((await engine.observe({ platform: P })).networks, []);
});
