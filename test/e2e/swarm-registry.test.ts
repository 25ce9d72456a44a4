// Images reach every node of a swarm through the platform's registry
// (docs/decisions/0070), on a real swarm of two engines (swarm-cluster.ts) and
// Debian's docker-registry behind basic auth in a container on the swarm's
// network: `odp images push` tags and pushes from the manager with the
// platform's credentials and prints the registry's digest; the Swarm engine,
// opened by the runtime from platform.yaml, creates a unit pinned to that
// digest, and a worker that never had the image pulls it with the credentials
// the service carries; a unit whose image the registry lacks is refused.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Dockerode from 'dockerode';
import { parse, stringify } from 'yaml';
import type { UnitSpec } from '../../src/engines/engine.js';
import { SwarmCluster } from '../../src/engines/swarm/cluster.js';
import type { PushedImage } from '../../src/images/push.js';
import { unitName } from '../../src/model/stack.js';
import { platformTarget, openTarget, saveSecrets } from '../../src/ops/secrets/secrets.js';
import { openRuntime } from '../../src/runtime.js';
import { Secret } from '../../src/secret.js';
import {
  execIn,
  makePlatform,
  runCli,
  setUp,
  SLOW_MACHINE_MS,
  uniqueName,
  type Data,
  type TestPlatform,
} from './helpers.js';
import { loadImages, startSwarm, type TestSwarm } from './swarm-cluster.js';
import { REGISTRY, startSwarmRegistry, type SwarmRegistryHandle } from './swarm-registry.js';

const P = uniqueName('swreg');
const STACK = `${P}-odoo-integration`;
const NET = `${P}-unit-net`;
const USER = 'odp';
/** Never printed by odp: checked in every output below. */
const PASSWORD = `pw-${P}-registry`;

let swarm: TestSwarm;
let tp: TestPlatform;
let registry: SwarmRegistryHandle | undefined;
const registryDigest = (name: string, tag: string) => registry!.digest(name, tag);
const env = () => ({ DOCKER_HOST: swarm.dockerHost });
const odp = (args: string[]) => runCli(['-C', tp.dir, ...args], { env: env() });

/** A Redis unit placed on the worker `w1` only. */
function redisOnWorker(name: string, image: string): UnitSpec {
  return {
    stack: STACK,
    network: NET,
    service: {
      name,
      role: 'redis',
      image,
      command: ['redis-server', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'],
      env: new Map(),
      externalNetworks: [],
      ports: [{ container: 6379 }],
      volumes: [],
      dependsOn: [],
      placement: { labels: [], global: false, replicas: 1 },
      labels: {
        'odp.platform': tp.platform,
        'odp.project': P,
        'odp.instance': 'integration',
        'odp.service': name,
      },
    },
    replica: 1,
    configHash: `hash-${name}`,
    publish: [],
    placement: { constraints: ['node.labels.odp.host==w1'] },
  };
}

const holds = async (container: string, ref: string) =>
  (await execIn(container, ['docker', 'image', 'inspect', ref])).code === 0;

before(async () => {
  await setUp();
  // Nodes that pull: DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 would make them never pull.
  swarm = await startSwarm(P, ['mgr', 'w1'], { pull: true });
  registry = await startSwarmRegistry(swarm, P, { user: USER, password: PASSWORD });
  const url = new URL(swarm.dockerHost);
  const manager = new Dockerode({ host: url.hostname, port: Number(url.port), protocol: 'http' });
  const cluster = new SwarmCluster(manager, swarm.dockerHost);
  for (const n of await cluster.nodes())
    await cluster.setNodeLabels(n.id, n.version, { ...n.labels, 'odp.host': n.hostname });
  // The manager builds (here: holds) the platform's images; the worker has none.
  await loadImages(swarm, ['odp/redis:7'], ['mgr']);
  tp = await makePlatform(uniqueName('reg'));
  const file = path.join(tp.dir, 'platform.yaml');
  const d = parse(await readFile(file, 'utf8')) as Data;
  d.engine = 'swarm';
  d.registry = { url: REGISTRY, username: USER };
  await writeFile(file, stringify(d));
  await setRegistryPassword(PASSWORD);
});

/** REGISTRY_PASSWORD in platform.env.gpg (the demo passphrase, from setUp's ODP_PASSPHRASE). */
async function setRegistryPassword(password: string): Promise<void> {
  const s = await openTarget(await platformTarget(tp.dir), { create: true });
  await saveSecrets(s, new Map([...s.values, ['REGISTRY_PASSWORD', new Secret(password)]]));
}

const printed = (r: { stdout: string; stderr: string }) => `${r.stdout}${r.stderr}`.includes(PASSWORD);

after(async () => {
  await registry?.remove();
  await swarm?.remove();
});

test('images push: a dry run pushes nothing; the manager lacking platform images is refused before any push', async () => {
  const dry = await odp(['images', 'push', 'redis', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const planned = (JSON.parse(dry.stdout) as { images: PushedImage[] }).images;
  assert.deepEqual(
    planned.map((i) => [i.status, i.image, i.target]),
    [['would push', 'odp/redis:7', `${REGISTRY}/odp/redis:7`]],
  );
  assert.equal(await registryDigest('odp/redis', '7'), undefined, 'a dry run pushes nothing');

  const all = await odp(['images', 'push']);
  assert.equal(all.code, 7, all.stderr);
  assert.match(all.stderr, /does not hold odp\/postgres:15, odp\/nginx:1\.22, odp\/haproxy:2\.6/);
  assert.match(all.stderr, /hint: Build them first/);
});

test('images push with a wrong password: refused by the registry, saying which secret to set', async () => {
  await setRegistryPassword('not-the-password');
  try {
    const r = await odp(['images', 'push', 'redis']);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /hint: .*REGISTRY_PASSWORD/);
  } finally {
    await setRegistryPassword(PASSWORD);
  }
});

test('images push: tagged for the registry, pushed from the manager, its digest printed as the registry has it', async () => {
  const r = await odp(['images', 'push', 'redis', '--json']);
  assert.ok(!printed(r), 'the password is never printed');
  assert.equal(r.code, 0, r.stderr);
  const [pushed] = (JSON.parse(r.stdout) as { images: PushedImage[] }).images;
  assert.equal(pushed?.status, 'pushed');
  assert.equal(pushed?.target, `${REGISTRY}/odp/redis:7`);
  assert.match(pushed?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.equal(await registryDigest('odp/redis', '7'), pushed?.digest);
  assert.match(r.stderr, /push odp\/redis:7 to registry:5000\/odp\/redis:7/, 'progress on stderr');

  const text = await odp(['images', 'push', 'redis']);
  assert.equal(text.code, 0, text.stderr);
  assert.ok(!printed(text), 'the password is never printed');
  assert.match(
    text.stdout,
    new RegExp(`^pushed +odp/redis:7 +${REGISTRY}/odp/redis:7 +${pushed!.digest}$`, 'm'),
  );
});

test('a unit runs pinned by digest on a worker that never had its image; the spec’s reference stays its label', async () => {
  assert.equal(await holds(swarm.nodes[1]!.container, 'odp/redis:7'), false);
  const digest = await registryDigest('odp/redis', '7');
  const { engine } = await withDockerHost(() => openRuntime(tp.dir));
  await engine.ensureNetwork(NET, { 'odp.platform': tp.platform, 'odp.project': P });
  const unit = redisOnWorker('cache', 'odp/redis:7');
  const name = unitName(STACK, 'cache', 1);
  await engine.run(unit);
  await engine.waitReady(name, undefined, { timeoutMs: SLOW_MACHINE_MS });

  const manager = swarm.nodes[0]!.container;
  const inspect = await execIn(manager, ['docker', 'service', 'inspect', name]);
  const [svc] = JSON.parse(inspect.out) as {
    Spec: { Labels: Record<string, string>; TaskTemplate: { ContainerSpec: { Image: string } } };
  }[];
  assert.equal(svc?.Spec.TaskTemplate.ContainerSpec.Image, `${REGISTRY}/odp/redis@${digest}`);
  assert.equal(svc?.Spec.Labels['odp.image'], 'odp/redis:7');
  const ps = await execIn(manager, [
    'docker',
    'service',
    'ps',
    name,
    '--format',
    '{{.Node}} {{.CurrentState}}',
  ]);
  assert.match(ps.out, /^w1 Running/m);
  const seen = (await engine.observe({ platform: tp.platform })).units.find((u) => u.name === name);
  assert.equal(seen?.image, 'odp/redis:7', 'plans and status compare the spec’s reference');
  assert.equal(await holds(swarm.nodes[1]!.container, `${REGISTRY}/odp/redis@${digest}`), true);
  await engine.remove(name);
});

test('a unit whose image the registry lacks is refused, saying to push it', async () => {
  const { engine } = await withDockerHost(() => openRuntime(tp.dir));
  await assert.rejects(
    engine.run(redisOnWorker('missing', 'odp/nginx:1.22')),
    (e: Error & { code?: string; hint?: string }) => {
      assert.equal(e.code, 'NOT_FOUND', e.message);
      assert.match(e.message, /registry:5000\/odp\/nginx:1\.22 is not in the registry/);
      assert.match(e.hint ?? '', /odp images push/);
      return true;
    },
  );
  const made = await execIn(swarm.nodes[0]!.container, [
    'docker',
    'service',
    'inspect',
    unitName(STACK, 'missing', 1),
  ]);
  assert.notEqual(made.code, 0, 'no service was made');
});

test('images push to a registry that does not answer: an engine error with what to check', async () => {
  const file = path.join(tp.dir, 'platform.yaml');
  const d = parse(await readFile(file, 'utf8')) as Data;
  d.registry = { url: 'registry:5001' };
  await writeFile(file, stringify(d));
  const r = await odp(['images', 'push', 'redis']);
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /hint: Check that the registry registry:5001 answers/);
});

/** openRuntime reaches the engine DOCKER_HOST names: the swarm's manager, for this call. */
async function withDockerHost<T>(fn: () => Promise<T>): Promise<T> {
  const before = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = swarm.dockerHost;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = before;
  }
}
