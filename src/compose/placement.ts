// Where a unit may run on an engine of many hosts (Docker Swarm): placement
// constraints on the node labels `odp hosts sync` sets (docs/decisions/0067).
// A single Docker host ignores them. Pure: from the stack's tier and the
// service's placement only.
import type { Service, Stack } from '../model/stack.js';
import { NODE_HOST_LABEL, nodeLabel } from '../plan/hosts-plan.js';

/** The host labels each tier's instances run on (the original platform's scheduling rules). */
const TIER_LABELS = {
  prod: ['production', 'application'],
  // The test instances share the integration hosts (issue 12). Their Rancher-era
  // placement (`application` alone) stays as it is for the rendered files.
  integration: ['application', 'integration'],
  test: ['application', 'integration'],
} as const;

const onLabel = (label: string): string => `node.labels.${nodeLabel(label)}==true`;

/**
 * Swarm constraints for one service of `stack`: an instance's units go where
 * its tier's labels are; a shared service goes to its host (`host:<name>`: the
 * node labelled `odp.host=<name>`; its data lives on that node's volumes) or to
 * the hosts of its other labels. The edge's (`edge`) is a role, not a host
 * label: Swarm's constraints cannot say "one of these hosts", so the edge hosts
 * carry `odp.edge=true`, which `odp hosts sync` sets from services.edge.hosts.
 */
export function placementConstraints(
  stack: Pick<Stack, 'instance'>,
  service: Pick<Service, 'placement'>,
  replica = 1,
): string[] {
  if (stack.instance !== 'shared') {
    // A replica pinned to its host (prod on a swarm: one per production host, 0073).
    const host = service.placement.hosts?.[replica - 1];
    return [
      ...TIER_LABELS[stack.instance].map(onLabel),
      ...(host ? [`node.labels.${NODE_HOST_LABEL}==${host}`] : []),
    ];
  }
  return service.placement.labels.map((l) =>
    l.startsWith('host:') ? `node.labels.${NODE_HOST_LABEL}==${l.slice('host:'.length)}` : onLabel(l),
  );
}
