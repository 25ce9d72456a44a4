// `odp hosts status|sync|join-command`: the spec's hosts against the swarm's
// nodes. Joining a server is the operator's act (join-command prints it);
// everything after it is odp's: `sync` gives each node its host's labels and
// changes nothing else, as a plan recorded under the platform lock.
import type { Cluster, JoinCommand } from '../../engines/cluster.js';
import {
  hostRoles,
  hostsReport,
  planHostsSync,
  type HostsReport,
  type LabelNodeStep,
} from '../../plan/hosts-plan.js';
import { dataLeftBehind, describeMove, labelMoves, type LabelMove } from '../../plan/label-moves.js';
import type { OperationPlan } from '../../plan/step.js';
import { OdpError } from '../../errors.js';
import type { PlatformFile } from '../../platformdir/load.js';
import type { Progress } from '../../progress.js';
import { platformOperation, recordOperation, withOperationLocks } from '../operation.js';
import { runSteps } from '../run-steps.js';

export async function hostsStatus(cluster: Cluster, pf: PlatformFile): Promise<HostsReport> {
  return hostsReport(pf.platform.hosts, await cluster.nodes(), hostRoles(pf.platform));
}

export interface HostsSyncResult {
  plan: OperationPlan<LabelNodeStep>;
  /** The units the label changes move to other nodes (Swarm moves them itself). */
  moves: LabelMove[];
  applied: boolean;
}

/**
 * Plans from the nodes as they are under the lock, and applies. A node changed
 * by someone else between the read and the update is refused by the engine
 * (CONFLICT): running sync again reads it anew. A change that would move a
 * unit away from its data (a database, not a test instance's) is refused: its
 * volumes stay on the node, and it would start empty elsewhere.
 */
export async function hostsSync(
  cluster: Cluster,
  pf: PlatformFile,
  o: { progress: Progress; dryRun?: boolean; wait?: boolean },
): Promise<HostsSyncResult> {
  const op = platformOperation(pf.dir, 'hosts-sync', o);
  return withOperationLocks(op, async () => {
    const nodes = await cluster.nodes();
    const plan = planHostsSync(pf.platform.hosts, nodes, hostRoles(pf.platform));
    const moves = plan.steps.length
      ? labelMoves(
          await cluster.placements(pf.platform.name),
          nodes,
          plan.steps.map((s) => s.change),
        )
      : [];
    if (o.dryRun || plan.steps.length === 0) return { plan, moves, applied: false };
    const stranded = dataLeftBehind(moves);
    if (stranded.length) {
      throw new OdpError('CONFLICT', 'these label changes would move units away from their data', {
        detail: stranded.map(describeMove).join('\n'),
        hint: 'Keep the labels those units need on their host, or move the data first (a backup, then a restore on the new host); `odp hosts sync --dry-run` shows every move.',
      });
    }
    await recordOperation(op, async (progress, h) => {
      h.annotate({ plan });
      await runSteps(
        plan.steps,
        (s) => cluster.setNodeLabels(s.change.nodeId, s.change.version, s.change.labels),
        {
          progress,
          describe: (s) => `label node ${s.change.hostname} as ${s.change.host}`,
          code: 'ENGINE',
          hint: 'Running `odp hosts sync` again changes only what still differs.',
        },
      );
    });
    return { plan, moves, applied: true };
  });
}

export function hostsJoinCommand(cluster: Cluster, role: 'worker' | 'manager'): Promise<JoinCommand> {
  return cluster.joinCommand(role);
}
