// A unit's service and tasks, as an observation: what its labels say it is,
// and the state its current task is in.
import { LABEL, labelledUnit, type ObservedUnit } from '../engine.js';
import { hasHealthCheck, wasStopped, type ServiceInfo } from './services.js';
import { publishedPorts, unitStatus, type SwarmTask } from './tasks.js';

/** The id of the image a unit was made with, as the manager held it (a label: tasks do not say). */
export const IMAGE_ID_LABEL = 'odp.image-id';

export function observedUnit(
  s: ServiceInfo,
  tasks: readonly SwarmTask[],
  /** Each node's host name (its `odp.host`, else its hostname), by node id. */
  nodes: ReadonlyMap<string, string> = new Map(),
): ObservedUnit {
  const l = s.Spec?.Labels ?? {};
  const { state, health, task } = unitStatus(tasks, hasHealthCheck(s), wasStopped(s));
  const node = task?.NodeID ? (nodes.get(task.NodeID) ?? task.NodeID) : undefined;
  return {
    id: s.ID,
    name: s.Spec?.Name ?? s.ID,
    ...labelledUnit(l),
    image: l[LABEL.image] ?? '',
    imageId: l[IMAGE_ID_LABEL] ?? '',
    state,
    health,
    createdAt: new Date(s.CreatedAt ?? 0),
    ports: publishedPorts(task),
    ...(node ? { node } : {}),
  };
}
