// The one place that decides which engine runs a platform and builds it, with
// what goes with it: its image store and the edge's control channel. The CLI
// and the server open a runtime and hand its parts to operations; nothing else
// names an engine's class. The engine's folder loads on use (a chunk of its own
// in the bundle, docs/decisions/0052): `odp --help` and `odp check` never pay for it.
import type { Engine } from './engines/engine.js';
import type { ImageStore } from './engines/images.js';
import { OdpError } from './errors.js';
import type { EdgeControl } from './ops/edge/edge-sync.js';
import { loadPlatformFile, type PlatformFile } from './platformdir/load.js';

export interface Runtime {
  engine: Engine;
  images: ImageStore;
  edge: EdgeControl;
}

/**
 * The runtime of the platform in `from` (a platform directory, or one already
 * loaded), as its `engine:` says. Without one (`odp publish` in CI, `odp images
 * build` before `odp init`), the default engine: Docker on this host.
 */
export async function openRuntime(from?: string | PlatformFile): Promise<Runtime> {
  const pf = typeof from === 'string' ? await loadPlatformFile(from) : from;
  const kind = pf?.platform.engine ?? 'docker';
  if (kind !== 'docker') {
    throw new OdpError('USAGE', `engine ${kind} is not implemented yet`, {
      problems: pf
        ? [
            {
              path: 'engine',
              message: `${kind} is not implemented yet; docker is`,
              location: pf.locatePlatform(['engine']),
            },
          ]
        : [],
      hint: 'Set `engine: docker` (one host) in platform.yaml; docs/decisions/0056 says what Swarm needs.',
    });
  }
  const { DockerEngine, DockerImages, makeDocker } = await import('./engines/docker/index.js');
  const docker = makeDocker();
  const engine = new DockerEngine(docker);
  return { engine, images: new DockerImages(docker), edge: lazyEdge(engine) };
}

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
    reload: async (pd, release) => (await load()).reload(pd, release),
    requestCertificates: async (pd, o) => (await load()).requestCertificates(pd, o),
    running: async (pd) => (await load()).running(pd),
    waitRouted: async (pd, domain, timeoutMs) => (await load()).waitRouted(pd, domain, timeoutMs),
    certify: async (pd, o) => (await load()).certify(pd, o),
    maintenance: async (pd, domain, on) => (await load()).maintenance(pd, domain, on),
    runtime: async (pd, commands) => (await load()).runtime(pd, commands),
  };
}
