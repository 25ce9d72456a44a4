// A sidecar's placement (docs/decisions/0072). Swarm has no shared network
// namespace and no "run next to that task" rule: a sidecar is placed by its
// owner's own constraints (the plan gives it those, host pin included), so
// Swarm reschedules the two alike when a node is lost, and the sidecar reaches
// its owner by name over the stack's network wherever each runs.

const NODE_ID = 'node.id==';

/**
 * The spec without a `node.id` pin. Earlier builds pinned a sidecar to the node
 * its owner's task ran on when it started; such a pin kept the sidecar pending
 * on a lost node, so a start drops it.
 */
export function unpinned<S extends { TaskTemplate?: unknown }>(spec: S): S {
  const task = spec.TaskTemplate as { Placement?: { Constraints?: string[] } } | undefined;
  const constraints = task?.Placement?.Constraints;
  if (!constraints?.some((c) => c.startsWith(NODE_ID))) return spec;
  return {
    ...spec,
    TaskTemplate: {
      ...task,
      Placement: { ...task!.Placement, Constraints: constraints.filter((c) => !c.startsWith(NODE_ID)) },
    },
  };
}
