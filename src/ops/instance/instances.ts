// Reading what runs: `odp status` (`odp destroy` is destroy.ts).
import type { Endpoint, Engine, ObservedUnit } from '../../engines/engine.js';
import { loadPlatformDir, requireProject } from '../../platformdir/load.js';
import { instanceNames } from '../../platform-spec/project-schema.js';
import { unsettledInterrupted } from '../../state/history.js';
import { maintenanceEntries } from '../../state/maintenance.js';
import { settleStarting } from './settle-starting.js';

export interface InstanceStatus {
  project: string;
  instance: string;
  domain: string;
  /**
   * `starting`: every unit runs and none is unhealthy, but some unit neither passed
   * the engine's first steady health check (up to 60 s after a start on engines
   * without a start interval, docs/decisions/0050) nor the check status ran now.
   */
  state: 'running' | 'starting' | 'degraded' | 'absent';
  /** The version the spec pins (integration, prod). */
  version?: string;
  /** Since when the edge answers this domain with its maintenance page. */
  maintenanceSince?: string;
  /** An operation odp was killed in, not yet completed or undone (the next deploy settles it). */
  interrupted?: { id: number; kind: string; version: string | null; startedAt: string };
  services: {
    name: string;
    replica: number;
    image: string;
    state: string;
    health: string;
    ageSeconds: number;
    ports: Record<number, number>;
    /** Where odp reaches the unit's published HTTP port, if it has one. */
    endpoint?: Endpoint;
    /** The host it runs on, on an engine of many hosts. */
    node?: string;
  }[];
}

export async function instanceStatus(
  engine: Engine,
  dir: string,
  project?: string,
): Promise<InstanceStatus[]> {
  const pd = await loadPlatformDir(dir);
  if (project) requireProject(pd, project);
  await engine.ping();
  const observed = await engine.observe({ platform: pd.platform.name, ...(project ? { project } : {}) });
  await settleStarting(engine, observed.units);
  const maintenance = new Map(maintenanceEntries(dir).map((m) => [m.domain, m.since]));
  const unsettled = unsettledInterrupted(dir);
  const out: InstanceStatus[] = [];
  for (const p of pd.projects.values()) {
    if (project && p.spec.name !== project) continue;
    for (const name of instanceNames) {
      const inst = p.spec.instances[name];
      if (!inst) continue;
      const units = observed.units.filter((u) => u.project === p.spec.name && u.instance === name);
      const since = maintenance.get(inst.domain);
      const stuck = name === 'test' ? undefined : unsettled.get(`${p.spec.name}/${name}`);
      out.push({
        project: p.spec.name,
        instance: name,
        domain: inst.domain,
        ...('version' in inst && inst.version ? { version: inst.version } : {}),
        ...(since ? { maintenanceSince: since } : {}),
        ...(stuck ? { interrupted: stuck } : {}),
        state:
          units.length === 0
            ? 'absent'
            : units.every(isUp)
              ? 'running'
              : units.every((u) => isUp(u) || (u.state === 'running' && u.health === 'starting'))
                ? 'starting'
                : 'degraded',
        services: await Promise.all(
          units
            .sort((a, b) => a.name.localeCompare(b.name))
            .map(async (u) => {
              const endpoint = u.ports[80]
                ? await engine.endpoint(u.name, 80).catch(() => undefined)
                : undefined;
              return {
                name: u.service,
                replica: u.replica,
                image: u.image,
                state: u.state,
                health: u.health,
                ageSeconds: Math.round((Date.now() - u.createdAt.getTime()) / 1000),
                ports: u.ports,
                ...(endpoint ? { endpoint } : {}),
                ...(u.node ? { node: u.node } : {}),
              };
            }),
        ),
      });
    }
  }
  return out;
}

function isUp(u: ObservedUnit): boolean {
  return u.state === 'running' && (u.health === 'healthy' || u.health === 'none');
}

/**
 * The unit `odp logs` reads: replica `replica` of the instance's `service`. A
 * pinned instance's units carry their release in their name, and two releases
 * coexist during an upgrade: the one that runs, else the newest.
 */
export async function findUnit(
  engine: Engine,
  sel: { platform: string; project: string; instance: string },
  service: string,
  replica: number,
): Promise<ObservedUnit | undefined> {
  const { units } = await engine.observe(sel);
  return units
    .filter((u) => u.service === service && u.replica === replica)
    .sort(
      (a, b) =>
        Number(b.state === 'running') - Number(a.state === 'running') ||
        b.createdAt.getTime() - a.createdAt.getTime(),
    )[0];
}
