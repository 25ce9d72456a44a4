// Where odp reaches a shared service (PostgreSQL, Redis) or a unit's HTTP port
// from the machine it runs on. The engine says so (Engine.endpoint): on one
// Docker host it is the published loopback port; ops never assume an address.
import { sharedUnit } from '../../compose/platform.js';
import type { Endpoint, Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import type { PlatformDir } from '../../platformdir/load.js';

/** The shared service's `containerPort`, as reachable from here; fails when the service does not run. */
export async function sharedEndpoint(
  engine: Engine,
  pd: PlatformDir,
  service: string,
  containerPort: number,
): Promise<Endpoint> {
  await engine.ping();
  const at = await engine.endpoint(sharedUnit(pd.platform, service), containerPort);
  if (!at) {
    throw new OdpError('ENGINE', `${service} is not running`, {
      hint: 'Run `odp platform up`, then `odp platform status`.',
    });
  }
  return at;
}

/** `http://host:port/` of a unit's HTTP port, for people to try; nothing when it publishes none. */
export async function unitUrl(
  engine: Engine,
  unit: string,
  containerPort = 80,
): Promise<{ localUrl?: string }> {
  const at = await engine.endpoint(unit, containerPort);
  if (!at) return {};
  const host = at.host.includes(':') ? `[${at.host}]` : at.host;
  return { localUrl: `http://${host}:${at.port}/` };
}
