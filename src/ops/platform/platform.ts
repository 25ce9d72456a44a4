// `odp platform up|status|down`: the original document's common stacks (lb,
// redis, redis-integration, postgres-cluster, postgres-integration), run by odp
// through the same plan and engine as instances. `up` converges (platform-up.ts);
// `down` keeps every volume unless purging was asked for and confirmed
// (platform-down.ts); here, what `status` reads.
import { composePlatform, sharedUnit } from '../../compose/platform.js';
import type { Endpoint, Engine, ObservedUnit } from '../../engines/engine.js';
import type { PlatformDir } from '../../platformdir/load.js';
import { settleStarting } from '../instance/settle-starting.js';
import { PLATFORM_PROJECT } from '../operation.js';

export { PLATFORM_PROJECT } from '../operation.js';
// Bringing the shared services up and down are plans of their own.
export { platformUp, type PlatformUpResult } from './platform-up.js';
export { platformDown, type PlatformDownResult } from './platform-down.js';

export interface ServiceStatus {
  service: string;
  unit: string;
  state: 'up' | 'down' | 'starting' | 'absent';
  /** Why a service is not up, in words. */
  reason?: string;
  image?: string;
  ports: Record<number, number>;
  /** Where odp reaches the service's first published port (the engine says where). */
  endpoint?: Endpoint;
}

/** What runs of the platform stack, each service up or down with the reason. */
export async function platformServices(engine: Engine, pd: PlatformDir): Promise<ServiceStatus[]> {
  await engine.ping();
  const { stack } = composePlatform(pd.platform, new Map());
  const observed = await engine.observe({ platform: pd.platform.name, project: PLATFORM_PROJECT });
  await settleStarting(engine, observed.units);
  return Promise.all(
    stack.services.map(async (svc) => {
      const unit = sharedUnit(pd.platform, svc.name);
      const u = observed.units.find((x) => x.name === unit);
      if (!u)
        return {
          service: svc.name,
          unit,
          state: 'absent' as const,
          reason: 'not created: run odp platform up',
          ports: {},
        };
      const first = Object.keys(u.ports).map(Number)[0];
      const endpoint =
        first !== undefined ? await engine.endpoint(u.name, first).catch(() => undefined) : undefined;
      return {
        service: svc.name,
        unit,
        image: u.image,
        ports: u.ports,
        ...(endpoint ? { endpoint } : {}),
        ...(await stateOf(engine, u)),
      };
    }),
  );
}

async function stateOf(engine: Engine, u: ObservedUnit): Promise<Pick<ServiceStatus, 'state' | 'reason'>> {
  if (u.state === 'running' && (u.health === 'healthy' || u.health === 'none')) return { state: 'up' };
  if (u.state === 'running' && u.health === 'starting')
    return { state: 'starting', reason: 'not answering its health check yet' };
  const why = await engine.explain(u.name);
  if (!why) return { state: 'absent', reason: 'removed' };
  if (u.state === 'running')
    return { state: 'down', reason: `unhealthy: ${why.lastProbe || 'health check failing'}` };
  const exit = why.error ? `${why.error}` : `exited with code ${why.exitCode}`;
  return { state: 'down', reason: `${u.state}: ${exit}${why.restarting ? ' (restarting)' : ''}` };
}
