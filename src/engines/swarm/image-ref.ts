// On a swarm with a registry (platform.yaml `registry:`), each service runs its
// image from the registry at the digest the registry holds when the service is
// made: every node that takes a task pulls those very bytes, whatever a tag
// says later. The digest is asked through the manager (Engine API
// `GET /distribution/{name}/json`), which reaches the registry as the nodes
// do: same network, same trust (--insecure-registry, CAs), and the engine's
// own token exchange (docs/decisions/0070). The unit's labels keep the spec's
// reference (`odp.image`): plans and status compare what they compare on Docker.
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import { pinnedRef, registryRef } from '../../model/image-ref.js';
import { messageOf, statusOf } from '../docker/api-errors.js';
import { authConfig } from '../docker/images.js';
import type { RegistryCredentials } from '../images.js';

export interface SwarmRegistry {
  /** platform.yaml `registry.url`: HOST[:PORT][/PREFIX]. */
  url: string;
  /** The registry's credentials, read when first needed; undefined: anonymous. */
  credentials(): Promise<RegistryCredentials | undefined>;
}

/** Gets a service's image to the nodes before it is made (in place); the auth to create it with. */
export type ImageSupply = (body: Dockerode.CreateServiceOptions) => Promise<Dockerode.AuthConfig | undefined>;

export class RegistryPins {
  private auth: Promise<Dockerode.AuthConfig | undefined> | undefined;

  constructor(
    private readonly docker: Dockerode,
    private readonly registry: SwarmRegistry,
  ) {}

  /**
   * Points the service's task at `<registry>/<repository>@sha256:…` (in place)
   * and gives the auth to create it with, which Swarm hands to the nodes that
   * pull. A service whose image the registry lacks is refused.
   */
  async pin(body: Dockerode.CreateServiceOptions): Promise<Dockerode.AuthConfig | undefined> {
    const spec = (body.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec!;
    const image = spec.Image!;
    const ref = registryRef(this.registry.url, image);
    // Decrypted once per engine; a failure is not kept (secrets fixed, the next create reads them).
    const auth = await (this.auth ??= this.registry
      .credentials()
      .then((c) => (c ? authConfig(c, ref.slice(0, ref.indexOf('/'))) : undefined))
      .catch((e: unknown) => {
        this.auth = undefined;
        throw e;
      }));
    let digest: string;
    try {
      digest = (await this.docker.getImage(ref).distribution(auth ? { authconfig: auth } : {})).Descriptor
        .digest;
    } catch (e) {
      throw notInRegistry(e, image, ref);
    }
    spec.Image = pinnedRef(this.registry.url, image, digest);
    return auth;
  }
}

/** Creates the service, with the registry's auth when it has one; its id. */
export async function createPinned(
  docker: Dockerode,
  body: Dockerode.CreateServiceOptions,
  auth: Dockerode.AuthConfig | undefined,
): Promise<string> {
  return (await (auth ? docker.createService(auth, body) : docker.createService(body))).id;
}

/** Why the manager could not read the image's digest, and what to do. */
function notInRegistry(e: unknown, image: string, ref: string): OdpError {
  const message = messageOf(e);
  const registry = ref.slice(0, ref.indexOf('/'));
  // The manager answers 404 "manifest unknown" (a registry may answer "unauthorized" too).
  if (statusOf(e) === 404 || /manifest unknown|name unknown|not found/i.test(message))
    return new OdpError('NOT_FOUND', `${ref} is not in the registry (${image} was never pushed)`, {
      cause: e,
      hint: 'Push the platform’s images to the registry: odp images push',
    });
  if (/unauthorized|authentication required|denied/i.test(message))
    return new OdpError('ENGINE', `the registry ${registry} refused to show ${ref}: ${message}`, {
      cause: e,
      hint: 'Push it (odp images push); with a private registry, set registry.username in platform.yaml and REGISTRY_PASSWORD (odp platform secrets set REGISTRY_PASSWORD --stdin).',
    });
  return new OdpError('ENGINE', `the swarm manager cannot read ${ref} from its registry: ${message}`, {
    cause: e,
    hint: `Check that the manager reaches ${registry} (and trusts it: --insecure-registry for plain HTTP).`,
  });
}
