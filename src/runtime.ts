// The one place that decides which engine runs a platform and builds it, with
// what goes with it: its image store and the edge's control channel. The CLI
// and the server open a runtime and hand its parts to operations; nothing else
// names an engine's class. The engine's folder loads on use (a chunk of its own
// in the bundle, docs/decisions/0052): `odp --help` and `odp check` never pay for it.
import type { Cluster } from './engines/cluster.js';
import type { Engine } from './engines/engine.js';
import type { ImageStore } from './engines/images.js';
import type { SwarmRegistry } from './engines/swarm/image-ref.js';
import { OdpError } from './errors.js';
import type { EdgeControl } from './ops/edge/edge-sync.js';
import { loadPlatformFile, type PlatformFile } from './platformdir/load.js';
import type { KeySource } from './secrets/lock.js';

export interface Runtime {
  engine: Engine;
  images: ImageStore;
  edge: EdgeControl;
}

/**
 * The runtime of the platform in `from` (a platform directory, or one already
 * loaded), as its `engine:` says: Docker on one host, or the Swarm whose
 * manager DOCKER_HOST names. Without one (`odp publish` in CI, `odp images
 * build` before `odp init`), the default engine: Docker on this host.
 */
export async function openRuntime(from?: string | PlatformFile, o: KeySource = {}): Promise<Runtime> {
  const pf = typeof from === 'string' ? await loadPlatformFile(from) : from;
  const { DockerEngine, DockerImages, makeDocker } = await import('./engines/docker/index.js');
  const docker = makeDocker();
  if (pf?.platform.engine === 'swarm') {
    const { SwarmEngine } = await import('./engines/swarm/index.js');
    // Each host's own engine, for what Swarm does not do across nodes (exec, the
    // edge's control, volumes: docs/decisions/0071). The image store is still the
    // manager's own: other nodes get images from the platform's registry, pushed by
    // `odp images push` and pinned by digest (0070), or a load of their own.
    const nodes = Object.fromEntries(
      Object.entries(pf.platform.hosts).flatMap(([name, h]) => (h.docker ? [[name, h.docker]] : [])),
    );
    const engine = new SwarmEngine(docker, managerAddress(), nodes, swarmImages(pf, o));
    return { engine, images: new DockerImages(docker), edge: lazyEdge(engine) };
  }
  const engine = new DockerEngine(docker);
  return { engine, images: new DockerImages(docker), edge: lazyEdge(engine) };
}

/**
 * How a swarm's nodes get their images: the platform's registry, from which
 * services run by digest (docs/decisions/0070; the password, a platform secret,
 * is decrypted only when a service is made, so reading commands never ask for a
 * passphrase), or copies from the manager (`offlineImages`, 0077).
 */
function swarmImages(pf: PlatformFile, o: KeySource): SwarmRegistry | 'offline' | undefined {
  const url = pf.platform.registry?.url;
  if (pf.platform.offlineImages) {
    if (!url) return 'offline';
    throw new OdpError(
      'USAGE',
      'platform.yaml sets both registry and offlineImages: the nodes get images one way',
      {
        problems: [
          {
            path: 'offlineImages',
            message: 'remove it to run images from the registry, or remove registry: to copy them',
            location: pf.locatePlatform(['offlineImages']),
          },
        ],
      },
    );
  }
  if (!url) return undefined;
  return {
    url,
    credentials: async () =>
      (await import('./ops/secrets/registry-credentials.js')).registryCredentials(pf, o),
  };
}

/** Where odp reaches the swarm's manager, for messages. */
const managerAddress = (): string => process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';

/**
 * The edge's control, its module loaded on first use: most commands that open a
 * runtime never touch the edge (status, logs, provision).
 */
function lazyEdge(engine: Engine): EdgeControl {
  let control: Promise<EdgeControl> | undefined;
  const load = () => (control ??= import('./ops/edge/edge-sync.js').then((m) => m.edgeControl(engine)));
  return {
    sync: async (pd) => (await load()).sync(pd),
    write: async (pd) => (await load()).write(pd),
    check: async (pd, release) => (await load()).check(pd, release),
    persist: async (pd) => (await load()).persist(pd),
    reload: async (pd, release) => (await load()).reload(pd, release),
    requestCertificates: async (pd, o) => (await load()).requestCertificates(pd, o),
    running: async (pd) => (await load()).running(pd),
    waitRouted: async (pd, domain, timeoutMs) => (await load()).waitRouted(pd, domain, timeoutMs),
    certify: async (pd, o) => (await load()).certify(pd, o),
    maintenance: async (pd, domain, on) => (await load()).maintenance(pd, domain, on),
    runtime: async (pd, commands) => (await load()).runtime(pd, commands),
  };
}

/**
 * The cluster of the platform in `from`, for the commands that manage its hosts.
 * Only a swarm has one; odp reaches a manager where DOCKER_HOST points (or the
 * local socket when odp runs on a manager).
 */
export async function openCluster(from: string | PlatformFile): Promise<Cluster> {
  const pf = typeof from === 'string' ? await loadPlatformFile(from) : from;
  if (pf.platform.engine !== 'swarm') {
    throw new OdpError(
      'USAGE',
      `engine ${pf.platform.engine} runs on one host: it has no cluster to manage`,
      {
        problems: [
          {
            path: 'engine',
            message: 'odp hosts manages the nodes of a swarm',
            location: pf.locatePlatform(['engine']),
          },
        ],
        hint: 'Set `engine: swarm` in platform.yaml once the servers form a swarm (docs/swarm.md).',
      },
    );
  }
  const { makeDocker } = await import('./engines/docker/index.js');
  const { SwarmCluster } = await import('./engines/swarm/index.js');
  return new SwarmCluster(makeDocker(), managerAddress());
}
