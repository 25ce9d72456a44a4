// What a change of node labels does to the units running on the nodes. Swarm
// shuts down a task whose node no longer meets its service's constraints and
// starts it again on a node that does (swarmkit's constraint enforcer): a label
// change is a move of every unit it concerns, and of no other. Pure: the units
// and nodes come from the cluster (engines/swarm/cluster.ts), the changes from
// planLabelSync.
import type { ClusterNode, LabelChange } from './hosts-plan.js';
import { NODE_HOST_LABEL } from './hosts-plan.js';

/** A unit's service as a label change concerns it. */
export interface PlacedUnit {
  unit: string;
  constraints: string[];
  /** The node its task runs on; undefined when none runs. */
  nodeId?: string;
  /** It keeps data on its node's volumes, which do not follow it to another node. */
  holdsData: boolean;
  /** Its data may be lost: a test instance is rebuilt from scratch by its next deploy. */
  disposable: boolean;
}

export interface LabelMove {
  unit: string;
  /** The host it leaves (its node's `odp.host`, else the node's hostname). */
  from: string;
  /** The constraints its node no longer meets. */
  unmet: string[];
  /** The hosts that meet them after the change; empty: it stops and waits for one. */
  to: string[];
  holdsData: boolean;
  disposable: boolean;
}

/**
 * Whether `labels` meet one constraint. Only `node.labels.` constraints depend on
 * labels; any other (node.id, node.hostname, node.role…) is taken as met, since
 * the unit runs where it is.
 */
export function meets(constraint: string, labels: Record<string, string>): boolean {
  const m = /^node\.labels\.(.+?)\s*(==|!=)\s*(.*)$/.exec(constraint.trim());
  if (!m) return true;
  const [, key, op, value] = m;
  const equal = labels[key!.trim()] === value!.trim();
  return op === '==' ? equal : !equal;
}

const meetsAll = (constraints: readonly string[], labels: Record<string, string>) =>
  constraints.every((c) => meets(c, labels));

const hostOf = (n: ClusterNode): string => n.labels[NODE_HOST_LABEL] ?? n.hostname;

/** The units that `changes` move off their node, each with where it can go. */
export function labelMoves(
  units: readonly PlacedUnit[],
  nodes: readonly ClusterNode[],
  changes: readonly LabelChange[],
): LabelMove[] {
  const after = new Map(nodes.map((n) => [n.id, n.labels]));
  for (const c of changes) after.set(c.nodeId, c.labels);
  const schedulable = nodes.filter((n) => n.state === 'ready' && n.availability === 'active');
  const moves: LabelMove[] = [];
  for (const u of units) {
    const node = nodes.find((n) => n.id === u.nodeId);
    if (!node || !changes.some((c) => c.nodeId === node.id)) continue;
    const now = after.get(node.id)!;
    if (!meetsAll(u.constraints, node.labels) || meetsAll(u.constraints, now)) continue;
    const unmet = u.constraints.filter((c) => !meets(c, now));
    const to = schedulable.filter((n) => meetsAll(u.constraints, after.get(n.id)!)).map((n) => hostOf(n));
    moves.push({
      unit: u.unit,
      from: hostOf(node),
      unmet,
      to,
      holdsData: u.holdsData,
      disposable: u.disposable,
    });
  }
  return moves.sort((a, b) => a.unit.localeCompare(b.unit));
}

/** The moves that would leave data behind that is not disposable: what `hosts sync` refuses. */
export const dataLeftBehind = (moves: readonly LabelMove[]): LabelMove[] =>
  moves.filter((m) => m.holdsData && !m.disposable);

/** One line per move, for the plan's output. */
export function describeMove(m: LabelMove): string {
  const where = m.to.length ? `to ${m.to.join(' or ')}` : 'nowhere: no host meets its constraints, it stops';
  const data = m.holdsData
    ? `; its volumes stay on ${m.from}${m.disposable ? ' (a test instance: redeploy it)' : ''}`
    : '';
  return `${m.unit} moves off ${m.from} ${where} (no longer ${m.unmet.join(', ')})${data}`;
}
