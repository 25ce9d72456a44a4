// A unit's service and its tasks through a manager's API: read, scaled, removed,
// and waited on. Waits poll the manager's state (tasks have no event stream
// across nodes in API 1.41) and end on the state, never on a fixed sleep.
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import { messageOf, statusOf } from '../docker/api-errors.js';
import { hasEnded, type SwarmTask } from './tasks.js';

/** Between two reads of a service's tasks while waiting. */
export const POLL_MS = 500;

export interface ServiceInfo {
  ID: string;
  CreatedAt?: string;
  Version?: { Index?: number };
  Spec?: Dockerode.ServiceSpec;
  /** The spec before the last update: none until the service was first changed. */
  PreviousSpec?: Dockerode.ServiceSpec;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The service named `name`; undefined when there is none. */
export async function inspectService(docker: Dockerode, name: string): Promise<ServiceInfo | undefined> {
  try {
    return (await docker.getService(name).inspect()) as ServiceInfo;
  } catch (e) {
    if (statusOf(e) === 404) return undefined;
    throw engineError(`cannot read service ${name}`, e);
  }
}

/**
 * Every task the manager still holds for the service, current and past. By
 * name (`<service>.<slot>.<id>`), not by the `service` filter: the manager
 * resolves that one to a service and fails once it is removed, while its
 * tasks are still stopping.
 */
export async function tasksOf(docker: Dockerode, svc: ServiceInfo): Promise<SwarmTask[]> {
  const name = svc.Spec?.Name ?? svc.ID;
  const tasks = (await docker.listTasks({ filters: { name: [`${name}.`] } })) as SwarmTask[];
  return tasks.filter((t) => t.ServiceID === svc.ID);
}

/** Whether the service's tasks run a health check (Swarm then holds them `starting` until it passes). */
export function hasHealthCheck(svc: ServiceInfo | undefined): boolean {
  const spec = (svc?.Spec?.TaskTemplate as Dockerode.ContainerTaskSpec | undefined)?.ContainerSpec as
    { Healthcheck?: { Test?: string[] } } | undefined;
  // The API answers `Healthcheck` (it reads either spelling: Go's JSON is case-insensitive).
  const test = spec?.Healthcheck?.Test;
  return !!test && test.length > 0 && test[0] !== 'NONE';
}

/**
 * Scaled to 0 after it ran (stopped, or a job that has ended), rather than made
 * with 0 replicas and never started: the manager deletes the tasks of a
 * scaled-down service, so only the service's own history tells the two apart.
 */
export function wasStopped(svc: ServiceInfo): boolean {
  return replicasOf(svc) === 0 && svc.PreviousSpec !== undefined;
}

export function replicasOf(svc: ServiceInfo): number {
  return svc.Spec?.Mode?.Replicated?.Replicas ?? 0;
}

/**
 * Sets the service's replica count. An update names the version it read and
 * the manager refuses it if another update came first: read again and retry.
 */
export async function setReplicas(
  docker: Dockerode,
  name: string,
  replicas: number,
  /** Changes made with the same update (a sidecar's old node pin dropped). */
  change: (spec: Dockerode.ServiceSpec) => Promise<Dockerode.ServiceSpec> = async (s) => s,
): Promise<ServiceInfo> {
  for (let attempt = 1; ; attempt++) {
    const svc = await inspectService(docker, name);
    if (!svc) throw new OdpError('NOT_FOUND', `no unit ${name} (no such service)`);
    if (replicasOf(svc) === replicas) return svc;
    const spec = { ...(await change(svc.Spec ?? {})), Mode: { Replicated: { Replicas: replicas } } };
    try {
      await docker
        .getService(svc.ID)
        .update({ _query: { version: svc.Version?.Index ?? 0 }, _body: spec } as unknown as object);
      return svc;
    } catch (e) {
      if (attempt < 5 && /out of sequence/i.test(messageOf(e))) continue;
      throw engineError(`cannot scale ${name} to ${replicas}`, e);
    }
  }
}

/** Polls `check` until it gives a value; past the deadline, fails saying what it waited for. */
export async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  late: () => Promise<string> = async () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) {
      const why = await late();
      throw new OdpError('ENGINE', `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}`, {
        ...(why ? { detail: why } : {}),
      });
    }
    await sleep(POLL_MS);
  }
}

/** Resolves once none of the service's tasks runs or is on its way to running. */
export async function waitTasksEnded(
  docker: Dockerode,
  svc: ServiceInfo,
  what: string,
  timeoutMs: number,
): Promise<void> {
  await until(what, timeoutMs, async () => ((await tasksOf(docker, svc)).every(hasEnded) ? true : undefined));
}

/**
 * Removes the service and resolves once the manager holds none of its tasks:
 * each node has stopped (SIGTERM, then SIGKILL after the grace period) and
 * removed its container.
 */
export async function removeService(docker: Dockerode, name: string, timeoutMs: number): Promise<void> {
  const svc = await inspectService(docker, name);
  if (!svc) return;
  try {
    await docker.getService(svc.ID).remove();
  } catch (e) {
    if (statusOf(e) !== 404) throw engineError(`cannot remove ${name}`, e);
  }
  await until(`the tasks of ${name} to be removed`, timeoutMs, async () =>
    (await tasksOf(docker, svc)).length === 0 ? true : undefined,
  );
}

export function engineError(what: string, e: unknown): OdpError {
  return new OdpError(statusOf(e) === 404 ? 'NOT_FOUND' : 'ENGINE', `${what}: ${messageOf(e)}`, { cause: e });
}
