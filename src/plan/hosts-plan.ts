// The spec's hosts against a cluster's nodes: which node is which host, where
// they differ (drift), and the label changes that make the nodes carry what the
// spec says. Pure: the nodes come from the engine (engines/swarm/cluster.ts).
//
// odp owns the node labels under `odp.` and no other (docs/decisions/0064):
//   odp.host=<host name>        which spec host this node is
//   odp.datacentre=<name>       the host's data centre
//   odp.<label>=true            one per label of the host (application, production…)
//   odp.<role>=true             one per role the services give it (edge: services.edge.hosts)
// Placement constraints name these (`node.labels.odp.production==true`); an
// operator's own labels are never read, changed or removed.
import type { HostSpec, PlatformSpec } from '../platform-spec/platform-schema.js';
import type { OperationPlan, PlanStep } from './step.js';

export const NODE_LABEL_PREFIX = 'odp.';
export const NODE_HOST_LABEL = 'odp.host';
export const NODE_DATACENTRE_LABEL = 'odp.datacentre';

/** A node of the cluster as odp needs it (Docker's Node object, flattened). */
export interface ClusterNode {
  id: string;
  hostname: string;
  /** The address the node reports (Status.Addr). */
  addr: string;
  role: 'manager' | 'worker';
  /** A manager's address and port for other nodes to join (ManagerStatus.Addr). */
  managerAddr?: string;
  leader: boolean;
  /** Status.State: ready, down, disconnected, unknown. */
  state: string;
  /** Spec.Availability: active, pause, drain. */
  availability: string;
  labels: Record<string, string>;
  /** The object version an update must name (optimistic concurrency). */
  version: number;
}

/** The label a spec host's label becomes on its node. */
export const nodeLabel = (label: string): string => `${NODE_LABEL_PREFIX}${label}`;

/** Each host's roles among the shared services that run on several hosts (the edge). */
export type HostRoles = Readonly<Record<string, readonly string[]>>;

/**
 * The roles the spec's services give its hosts. Swarm constraints cannot say "one
 * of these hosts", so a service on several named hosts needs a label of its own.
 */
export function hostRoles(platform: Pick<PlatformSpec, 'services'>): HostRoles {
  const roles: Record<string, string[]> = {};
  for (const h of platform.services.edge?.hosts ?? []) (roles[h] ??= []).push('edge');
  return roles;
}

/** The `odp.` labels a host's node must carry, and only those. */
export function wantedLabels(name: string, host: HostSpec, roles: HostRoles = {}): Record<string, string> {
  const labels: Record<string, string> = {
    [NODE_HOST_LABEL]: name,
    [NODE_DATACENTRE_LABEL]: host.datacentre,
  };
  for (const l of [...host.labels, ...(roles[name] ?? [])]) labels[nodeLabel(l)] = 'true';
  return labels;
}

/** A node's labels that odp owns. */
export function ownedLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith(NODE_LABEL_PREFIX)));
}

/**
 * Each spec host's node. A node says which host it is by its `odp.host` label
 * (set by `hosts sync`); before that, a node whose hostname is the host's name,
 * or whose address is the host's address, is taken. A node is one host at most.
 */
export function matchNodes(
  hosts: Record<string, HostSpec>,
  nodes: readonly ClusterNode[],
): Map<string, ClusterNode | undefined> {
  const taken = new Set<string>();
  const found = new Map<string, ClusterNode | undefined>();
  const rules: ((name: string, h: HostSpec, n: ClusterNode) => boolean)[] = [
    (name, _h, n) => n.labels[NODE_HOST_LABEL] === name,
    (name, _h, n) => !n.labels[NODE_HOST_LABEL] && n.hostname === name,
    (_name, h, n) => !n.labels[NODE_HOST_LABEL] && !!h.address && n.addr === h.address,
  ];
  for (const rule of rules) {
    for (const [name, h] of Object.entries(hosts)) {
      if (found.get(name)) continue;
      const n = nodes.find((x) => !taken.has(x.id) && rule(name, h, x));
      if (n) taken.add(n.id);
      found.set(name, n);
    }
  }
  return found;
}

export interface HostReport {
  host: string;
  datacentre: string;
  labels: string[];
  node?: {
    id: string;
    hostname: string;
    addr: string;
    role: string;
    leader: boolean;
    state: string;
    availability: string;
    labels: Record<string, string>;
  };
  /** What differs from the spec, one sentence each; empty: as the spec says. */
  drift: string[];
}

export interface HostsReport {
  hosts: HostReport[];
  /** Nodes of the cluster that are no spec host. */
  otherNodes: { id: string; hostname: string; addr: string; state: string }[];
  /** The number of drift sentences over every host. */
  drift: number;
}

/** Each spec host, its node and what differs; then the nodes the spec does not know. */
export function hostsReport(
  hosts: Record<string, HostSpec>,
  nodes: readonly ClusterNode[],
  roles: HostRoles = {},
): HostsReport {
  const match = matchNodes(hosts, nodes);
  const reports = Object.entries(hosts).map(([name, h]): HostReport => {
    const n = match.get(name);
    const base = { host: name, datacentre: h.datacentre, labels: [...h.labels] };
    if (!n)
      return { ...base, drift: ['no node of the cluster is this host (join it, then `odp hosts sync`)'] };
    const drift: string[] = [];
    if (n.state !== 'ready') drift.push(`node ${n.state}`);
    if (n.availability !== 'active') drift.push(`node availability ${n.availability}`);
    drift.push(...labelDrift(ownedLabels(n.labels), wantedLabels(name, h, roles)));
    const { id, hostname, addr, role, leader, state, availability, labels } = n;
    return { ...base, node: { id, hostname, addr, role, leader, state, availability, labels }, drift };
  });
  const used = new Set([...match.values()].flatMap((n) => (n ? [n.id] : [])));
  const otherNodes = nodes
    .filter((n) => !used.has(n.id))
    .map(({ id, hostname, addr, state }) => ({ id, hostname, addr, state }));
  return { hosts: reports, otherNodes, drift: reports.reduce((s, r) => s + r.drift.length, 0) };
}

function labelDrift(have: Record<string, string>, want: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(want)) {
    if (!(k in have)) out.push(`label ${k}=${v} missing`);
    else if (have[k] !== v) out.push(`label ${k} is ${have[k]}, the spec says ${v}`);
  }
  for (const k of Object.keys(have)) if (!(k in want)) out.push(`label ${k} not in the spec`);
  return out;
}

/** One node's label change: its whole new label set (Docker replaces them all). */
export interface LabelChange {
  host: string;
  nodeId: string;
  hostname: string;
  version: number;
  set: Record<string, string>;
  remove: string[];
  /** The node's labels after the change: the operator's own kept, odp's as the spec says. */
  labels: Record<string, string>;
}

/**
 * The label changes that make every matched node carry its host's labels, and
 * nothing else of odp's. Hosts without a node are left out (joining is the
 * operator's act); nodes the spec does not know keep their labels.
 */
export function planLabelSync(
  hosts: Record<string, HostSpec>,
  nodes: readonly ClusterNode[],
  roles: HostRoles = {},
): LabelChange[] {
  const match = matchNodes(hosts, nodes);
  const changes: LabelChange[] = [];
  for (const [name, h] of Object.entries(hosts)) {
    const n = match.get(name);
    if (!n) continue;
    const want = wantedLabels(name, h, roles);
    const have = ownedLabels(n.labels);
    const set = Object.fromEntries(Object.entries(want).filter(([k, v]) => have[k] !== v));
    const remove = Object.keys(have).filter((k) => !(k in want));
    if (Object.keys(set).length === 0 && remove.length === 0) continue;
    const kept = Object.fromEntries(
      Object.entries(n.labels).filter(([k]) => !k.startsWith(NODE_LABEL_PREFIX)),
    );
    changes.push({
      host: name,
      nodeId: n.id,
      hostname: n.hostname,
      version: n.version,
      set,
      remove,
      labels: { ...kept, ...want },
    });
  }
  return changes;
}

/** One node's labels made what the spec says (the step of `odp hosts sync`). */
export interface LabelNodeStep extends PlanStep {
  kind: 'label-node';
  change: LabelChange;
}

/** `odp hosts sync`'s plan: one independent step per node whose labels differ. */
export function planHostsSync(
  hosts: Record<string, HostSpec>,
  nodes: readonly ClusterNode[],
  roles: HostRoles = {},
): OperationPlan<LabelNodeStep> {
  const steps = planLabelSync(hosts, nodes, roles).map((change): LabelNodeStep => ({
    id: `label-node:${change.host}`,
    kind: 'label-node',
    change,
    cause: [
      ...Object.entries(change.set).map(([k, v]) => `set ${k}=${v}`),
      ...change.remove.map((k) => `remove ${k}`),
    ].join(', '),
    after: [],
  }));
  return { operation: 'hosts-sync', project: '_platform', instance: '-', steps };
}
