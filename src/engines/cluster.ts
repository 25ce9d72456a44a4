// A cluster of hosts under one engine (Docker Swarm): its nodes, their labels
// and how a new server joins. Engines of one host have none. The operations
// (ops/platform/hosts.ts) get it from the runtime (runtime.ts, openCluster).
import type { ClusterNode } from '../plan/hosts-plan.js';
import type { PlacedUnit } from '../plan/label-moves.js';

export interface JoinCommand {
  /** What the operator runs on the new server. */
  command: string;
  /** Every manager address the command may name, the first one used. */
  managers: string[];
  role: 'worker' | 'manager';
}

export interface Cluster {
  /** The engine's own description of where it is: a socket or a manager's address. */
  readonly endpoint: string;
  nodes(): Promise<ClusterNode[]>;
  /**
   * Replaces a node's labels (Docker keeps one set per node). `version` is the
   * node object's version when it was read: a node changed since then refuses
   * the update (CONFLICT), and the caller reads it again.
   */
  setNodeLabels(nodeId: string, version: number, labels: Record<string, string>): Promise<void>;
  joinCommand(role: 'worker' | 'manager'): Promise<JoinCommand>;
  /** The platform's units (not its jobs): their constraints and the node each runs on. */
  placements(platform: string): Promise<PlacedUnit[]>;
}
