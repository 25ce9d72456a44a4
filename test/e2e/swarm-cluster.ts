// A Docker Swarm of several nodes on this one machine, made by the tests
// themselves: each node a Docker Engine in a container (docker-in-docker, the
// recipe of machines.md), on a bridge network the test makes. The first node
// initialises the swarm; its API is published on 127.0.0.1 so odp reaches the
// manager through DOCKER_HOST, as an operator's machine would.
import path from 'node:path';
import { buildDockerfileImage, parentImageId } from '../../src/images/build.js';
import { DEBIAN_BASE } from '../../src/images/catalog.js';
import { docker, execIn, images, repoRoot, sleep, SLOW_MACHINE_MS } from './helpers.js';

export const NODE_IMAGE = 'odp-test/swarm-node:1';

export interface TestNode {
  container: string;
  hostname: string;
  ip: string;
  /** The node's ports published on this machine's loopback, by the node's port (its engine's 2375 on the manager). */
  ports: Record<number, number>;
}

export interface TestSwarm {
  network: string;
  nodes: TestNode[];
  /** DOCKER_HOST for odp: the first node's (a manager's) API on 127.0.0.1. */
  dockerHost: string;
  remove(): Promise<void>;
}

export function buildNodeImage(): Promise<void> {
  return buildTestImage('swarm-node', NODE_IMAGE);
}

/** An image of test/e2e/<name>/ on the Debian base, rebuilt when its files change. */
export async function buildTestImage(name: string, tag: string): Promise<void> {
  await buildDockerfileImage(
    images,
    {
      kind: 'dockerfile',
      name,
      tag,
      context: path.join(repoRoot, 'test/e2e', name),
      parent: DEBIAN_BASE,
    },
    await parentImageId(images, DEBIAN_BASE),
    () => undefined,
  );
}

async function until(what: string, fn: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + SLOW_MACHINE_MS;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return;
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function must(container: string, cmd: string[]): Promise<string> {
  const r = await execIn(container, cmd);
  if (r.code !== 0) throw new Error(`${container}: ${cmd.join(' ')} exited ${r.code}: ${r.out}`);
  return r.out.trim();
}

/** A node's port on this machine's loopback: on any free port, or `[node port, loopback port]`. */
export type Publish = number | [number, number];
const nodePort = (p: Publish): number => (typeof p === 'number' ? p : p[0]);

/**
 * A node's engine, started on the swarm's network; not joined. `publish`: the
 * node's ports put on this machine's loopback (the manager's API; an edge node's
 * 80 and 443, where load tests send their requests).
 */
async function startNode(
  prefix: string,
  network: string,
  hostname: string,
  publish: Publish[],
  offline = true,
  persistent = false,
): Promise<TestNode> {
  const container = `${prefix}-${hostname}`;
  const c = await docker.createContainer({
    name: container,
    Hostname: hostname,
    Image: NODE_IMAGE,
    // No registry here: a node runs the image it holds (loaded by the test) without
    // trying Docker Hub first (swarm-facts.md). With it set a node never pulls, so a
    // swarm that gets its images from a registry goes without.
    Env: offline ? ['DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1'] : [],
    Labels: { 'odp.test': prefix },
    ExposedPorts: Object.fromEntries([2375, ...publish.map(nodePort)].map((p) => [`${p}/tcp`, {}])),
    HostConfig: {
      NetworkMode: network,
      CapAdd: ['ALL'],
      CapDrop: ['SYS_RESOURCE'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:rw'],
      // In memory, fast; a node that must come back after `docker kill` with its
      // swarm membership, images and volumes keeps them on a volume instead.
      // /run is fresh at each start, as on a server: no stale pid file stops its engine.
      Tmpfs: persistent ? { '/run': '' } : { '/var/lib/docker': 'exec' },
      PortBindings: Object.fromEntries(
        publish.map((p) => [
          `${nodePort(p)}/tcp`,
          [{ HostIp: '127.0.0.1', HostPort: typeof p === 'number' ? '' : String(p[1]) }],
        ]),
      ),
    },
  });
  await c.start();
  const info = await c.inspect();
  const ports = Object.fromEntries(
    publish.map(nodePort).map((p) => [p, Number(info.NetworkSettings.Ports[`${p}/tcp`]?.[0]?.HostPort)]),
  );
  return { container, hostname, ip: info.NetworkSettings.Networks[network]!.IPAddress, ports };
}

const engineAnswers = (n: TestNode): Promise<void> =>
  until(`${n.container}'s engine`, async () => (await execIn(n.container, ['docker', 'info'])).code === 0);

/**
 * One more server with its engine answering, not joined (a test joins it as an
 * operator would); removed with the swarm.
 */
export async function addServer(swarm: TestSwarm, prefix: string, hostname: string): Promise<TestNode> {
  const n = await startNode(prefix, swarm.network, hostname, []);
  swarm.nodes.push(n);
  await engineAnswers(n);
  return n;
}

/**
 * `hostnames.length` nodes named `<prefix>-<hostname>`; the first is the
 * manager, the others join as workers. Labels are left to the test. With
 * `pull`, the nodes pull what they lack (from a test's registry).
 */
export async function startSwarm(
  prefix: string,
  hostnames: string[],
  /**
   * Ports of some nodes to put on this machine's loopback, by hostname; `pull`:
   * the nodes pull what they lack (from a test's registry); `persistent`: nodes
   * whose engine state survives the node's container being killed and started.
   */
  o: { publish?: Record<string, Publish[]>; pull?: boolean; persistent?: string[] } = {},
): Promise<TestSwarm> {
  await buildNodeImage();
  const network = `${prefix}-net`;
  await docker.createNetwork({ Name: network, Driver: 'bridge', Labels: { 'odp.test': prefix } });
  const nodes: TestNode[] = [];
  const swarm: TestSwarm = {
    network,
    nodes,
    dockerHost: '',
    remove: async () => {
      // Left running to look into a failure: `docker exec <node> docker service ls`.
      if (process.env.ODP_KEEP_SWARM) return;
      for (const n of nodes)
        await docker
          .getContainer(n.container)
          .remove({ force: true, v: true })
          .catch(() => {});
      await docker
        .getNetwork(network)
        .remove()
        .catch(() => {});
    },
  };
  try {
    for (const [i, hostname] of hostnames.entries())
      nodes.push(
        await startNode(
          prefix,
          network,
          hostname,
          [...(i === 0 ? [2375] : []), ...(o.publish?.[hostname] ?? [])],
          !o.pull,
          o.persistent?.includes(hostname),
        ),
      );
    for (const n of nodes) await engineAnswers(n);
    const [manager, ...workers] = nodes;
    await must(manager!.container, ['docker', 'swarm', 'init', '--advertise-addr', manager!.ip]);
    const token = await must(manager!.container, ['docker', 'swarm', 'join-token', '-q', 'worker']);
    for (const w of workers) {
      await must(w.container, ['docker', 'swarm', 'join', '--token', token, `${manager!.ip}:2377`]);
    }
    await until('every node ready', async () => {
      const out = await must(manager!.container, ['docker', 'node', 'ls', '--format', '{{.Status}}']);
      const states = out.split('\n').filter(Boolean);
      return states.length === nodes.length && states.every((s) => s === 'Ready');
    });
    swarm.dockerHost = `tcp://127.0.0.1:${manager!.ports[2375]}`;
    return swarm;
  } catch (e) {
    await swarm.remove();
    throw e;
  }
}

/**
 * Copies images from this machine's engine onto every node, or the named ones (`docker save`
 * piped into `docker load` inside each node): what an offline swarm needs
 * before it can schedule a task of them.
 */
export async function loadImages(swarm: TestSwarm, refs: string[], hostnames?: string[]): Promise<void> {
  const nodes = hostnames ? swarm.nodes.filter((n) => hostnames.includes(n.hostname)) : swarm.nodes;
  await Promise.all(
    nodes.map(async (n) => {
      for (const ref of refs) await loadImage(n.container, ref);
    }),
  );
}

async function loadImage(container: string, ref: string): Promise<void> {
  const r = await execIn(container, ['docker', 'load', '-q'], await docker.getImage(ref).get());
  if (r.code !== 0) throw new Error(`${container}: docker load ${ref} exited ${r.code}: ${r.out}`);
}
