// An image registry for a test swarm (swarm-cluster.ts): Debian's
// docker-registry in a container of test/e2e/swarm-registry/, behind basic
// auth, on the swarm's network as `registry:5000` (which the nodes treat as
// insecure: swarm-node/Dockerfile), its API also published on loopback so the
// test reads what was pushed from the registry itself.
import bcrypt from 'bcryptjs';
import { docker, request, sleep, SLOW_MACHINE_MS } from './helpers.js';
import { buildTestImage, type TestSwarm } from './swarm-cluster.js';

const IMAGE = 'odp-test/swarm-registry:1';
/** Where the nodes reach it, as image references name it: its alias on the swarm's network. */
export const REGISTRY = 'registry:5000';
const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

export interface SwarmRegistryHandle {
  /** The Docker-Content-Digest the registry gives the tag's manifest; undefined when absent. */
  digest(name: string, tag: string): Promise<string | undefined>;
  remove(): Promise<void>;
}

/** Until `check` gives a value or the deadline passes. */
async function poll<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + SLOW_MACHINE_MS;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

/** Started and answering; remove it before the swarm (it holds the swarm's network). */
export async function startSwarmRegistry(
  swarm: TestSwarm,
  prefix: string,
  account: { user: string; password: string },
): Promise<SwarmRegistryHandle> {
  await buildTestImage('swarm-registry', IMAGE);
  const container = await docker.createContainer({
    name: `${prefix}-registry`,
    Image: IMAGE,
    Labels: { 'odp.test': prefix },
    // The registry reads bcrypt entries only.
    Env: [`HTPASSWD=${account.user}:${bcrypt.hashSync(account.password, 10)}`],
    ExposedPorts: { '5000/tcp': {} },
    HostConfig: {
      NetworkMode: swarm.network,
      PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    },
    NetworkingConfig: { EndpointsConfig: { [swarm.network]: { Aliases: ['registry'] } } },
  });
  const remove = () => container.remove({ force: true, v: true }).catch(() => undefined);
  try {
    await container.start();
    const port = (await container.inspect()).NetworkSettings.Ports['5000/tcp']?.[0]?.HostPort;
    const url = `http://127.0.0.1:${port}`;
    const authorization = `Basic ${Buffer.from(`${account.user}:${account.password}`).toString('base64')}`;
    // node:http with a timeout, not fetch: docker-proxy resets connections until the registry listens.
    await poll('the registry', async () =>
      (await request(`${url}/v2/`, { headers: { authorization }, timeoutMs: 5000 })).status === 200
        ? true
        : undefined,
    );
    return {
      remove: async () => void (await remove()),
      digest: async (name, tag) => {
        const r = await request(`${url}/v2/${name}/manifests/${tag}`, {
          method: 'HEAD',
          headers: { accept: MANIFEST_V2, authorization },
        });
        const digest = r.headers['docker-content-digest'];
        return r.status === 200 && typeof digest === 'string' ? digest : undefined;
      },
    };
  } catch (e) {
    await remove();
    throw e;
  }
}
