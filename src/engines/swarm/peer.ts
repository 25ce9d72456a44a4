// A sidecar beside its owner (docs/decisions/0072). Swarm has no shared network
// namespace and no "run next to that task" rule: the sidecar's service is
// constrained to the node its owner's task runs on when it is started, so a
// pair lives and dies on one node, as on one Docker host. If the owner's task
// moves (its node was lost), the sidecar's next start follows it.
import type Dockerode from 'dockerode';
import { inspectService, POLL_MS, sleep, tasksOf } from './services.js';
import { currentTask } from './tasks.js';

/** How long a start waits for the owner's task to be given a node. */
const ASSIGN_MS = 60_000;

const NODE_ID = 'node.id==';

/** The node the owner's current task runs on (or is assigned to); undefined when it has none in time. */
export async function ownerNode(docker: Dockerode, owner: string): Promise<string | undefined> {
  const deadline = Date.now() + ASSIGN_MS;
  for (;;) {
    const svc = await inspectService(docker, owner);
    if (!svc) return undefined;
    const task = currentTask(await tasksOf(docker, svc));
    if (task?.NodeID) return task.NodeID;
    // An owner made and not started (0 replicas) has no task to wait for.
    if ((svc.Spec?.Mode?.Replicated?.Replicas ?? 0) === 0 || Date.now() >= deadline) return undefined;
    await sleep(POLL_MS);
  }
}

/** The constraints with the node pin replaced by `nodeId` (or removed). */
export function pinnedTo(constraints: readonly string[], nodeId: string | undefined): string[] {
  const rest = constraints.filter((c) => !c.startsWith(NODE_ID));
  return nodeId ? [...rest, `${NODE_ID}${nodeId}`] : rest;
}

/** The spec placed beside `owner`'s task. */
export async function besideOwner(
  docker: Dockerode,
  owner: string,
  spec: Dockerode.ServiceSpec,
): Promise<Dockerode.ServiceSpec> {
  const task = spec.TaskTemplate as Dockerode.ContainerTaskSpec;
  const node = await ownerNode(docker, owner);
  return {
    ...spec,
    TaskTemplate: {
      ...task,
      Placement: { ...task.Placement, Constraints: pinnedTo(task.Placement?.Constraints ?? [], node) },
    },
  };
}
