// Where a published port of a container is reachable from where odp runs. Docker
// publishes on an address of the engine's host: a wildcard (0.0.0.0, ::) means
// every address of that host, so the one to dial is the host's own loopback when
// the engine is local (its unix socket), else the host DOCKER_HOST names.
import type Dockerode from 'dockerode';
import type { Endpoint } from '../engine.js';

type Bindings = Dockerode.ContainerInspectInfo['NetworkSettings']['Ports'];

/**
 * The first binding of `containerPort` (IPv4 preferred: Docker lists 0.0.0.0
 * before ::), as an address to dial. `engineHost` is the remote engine's host
 * name; undefined for a local engine.
 */
export function publishedEndpoint(
  ports: Bindings | undefined,
  containerPort: number,
  engineHost: string | undefined,
): Endpoint | undefined {
  const bindings = ports?.[`${containerPort}/tcp`] ?? [];
  const b = bindings.find((x) => !x.HostIp.includes(':')) ?? bindings[0];
  const port = Number(b?.HostPort);
  if (!b || !port) return undefined;
  const wildcard = b.HostIp === '' || b.HostIp === '0.0.0.0' || b.HostIp === '::';
  if (!wildcard) return { host: b.HostIp, port };
  if (engineHost) return { host: engineHost, port };
  return { host: b.HostIp === '::' ? '::1' : '127.0.0.1', port };
}
