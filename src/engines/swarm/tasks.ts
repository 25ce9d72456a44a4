// A service's tasks, read as a unit's state. Swarm keeps the tasks a service
// had (shut down, failed: up to its history limit) beside the one it wants
// now, so the current task is chosen by what the orchestrator desires, then by
// age; its state maps onto Docker's container states. Pure.
import type { Health, RunState, UnitExplanation } from '../engine.js';

/** The fields of a task (GET /tasks, API 1.41) that odp reads. */
export interface SwarmTask {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  CreatedAt?: string;
  DesiredState?: string;
  Status?: {
    State?: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
    PortStatus?: { Ports?: { TargetPort?: number; PublishedPort?: number }[] };
  };
  NetworksAttachments?: { Network?: { Spec?: { Name?: string } }; Addresses?: string[] }[];
}

/** States of a task on its way up, in order; `starting` lasts until a health check first passes. */
const COMING = ['new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting'];
/** States a task never leaves. */
const ENDED = ['complete', 'shutdown', 'failed', 'rejected', 'orphaned', 'remove'];

export const stateOf = (t: SwarmTask): string => t.Status?.State ?? 'new';
export const hasEnded = (t: SwarmTask): boolean => ENDED.includes(stateOf(t));
/** Failed, or refused by its node (no such image, a port in use): an end that was not asked for. */
export const hasFailed = (t: SwarmTask): boolean => ['failed', 'rejected'].includes(stateOf(t));
/** Not yet scheduled on a node: what a constraint no node meets leaves a task in. */
export const isUnscheduled = (t: SwarmTask): boolean =>
  COMING.indexOf(stateOf(t)) <= COMING.indexOf('pending');

/** The orchestrator still wants it (a job's task is wanted until complete). */
const wanted = (t: SwarmTask): boolean => ['running', 'ready', 'complete'].includes(t.DesiredState ?? '');

/** Newest first (creation time, then id: stable for equal times). */
export function newestFirst(tasks: readonly SwarmTask[]): SwarmTask[] {
  const at = (t: SwarmTask) => Date.parse(t.CreatedAt ?? '') || 0;
  return [...tasks].sort((a, b) => at(b) - at(a) || b.ID.localeCompare(a.ID));
}

/** The task that stands for the unit: the newest one still wanted, else the newest of all. */
export function currentTask(tasks: readonly SwarmTask[]): SwarmTask | undefined {
  const sorted = newestFirst(tasks);
  return sorted.find(wanted) ?? sorted[0];
}

export interface UnitStatus {
  state: RunState;
  health: Health;
  task?: SwarmTask;
}

/**
 * The unit's state from its service's tasks. `hasHealth`: the service has a
 * health check, so a RUNNING task has passed it (Swarm holds a task in
 * `starting` until then, and fails it when it turns unhealthy). `stopped`: the
 * service was scaled to 0 after it ran (its tasks are deleted then).
 */
export function unitStatus(tasks: readonly SwarmTask[], hasHealth: boolean, stopped = false): UnitStatus {
  const task = currentTask(tasks);
  if (!task) return { state: stopped ? 'exited' : 'created', health: 'none' };
  const s = stateOf(task);
  const none = { task, health: 'none' as const };
  if (s === 'running') return { task, state: 'running', health: hasHealth ? 'healthy' : 'none' };
  // The container runs; Swarm waits for its first passing check.
  if (s === 'starting' && hasHealth) return { task, state: 'running', health: 'starting' };
  if (COMING.includes(s)) {
    // On its way up again right after a failure: what Docker calls restarting.
    const previous = newestFirst(tasks).find((t) => t !== task);
    return { ...none, state: previous && hasFailed(previous) && wanted(task) ? 'restarting' : 'created' };
  }
  if (s === 'failed')
    return { task, state: 'exited', health: /unhealthy/.test(task.Status?.Err ?? '') ? 'unhealthy' : 'none' };
  if (s === 'complete' || s === 'shutdown') return { ...none, state: 'exited' };
  if (s === 'remove') return { ...none, state: 'removing' };
  return { ...none, state: 'dead' }; // rejected: never ran; orphaned: its node is gone
}

/** Why the unit is as it is, as far as the manager knows (a probe's output stays on its node). */
export function explainTasks(
  tasks: readonly SwarmTask[],
  hasHealth: boolean,
  stopped = false,
): UnitExplanation {
  const { state, health, task } = unitStatus(tasks, hasHealth, stopped);
  const status = task?.Status;
  return {
    running: state === 'running',
    exitCode: status?.ContainerStatus?.ExitCode ?? 0,
    error: status?.Err ?? '',
    health,
    lastProbe: '',
    restarting: state === 'restarting',
  };
}

/** The task's address on `network`, without its prefix length. */
export function addressOn(task: SwarmTask, network: string): string | undefined {
  const a = task.NetworksAttachments?.find((n) => n.Network?.Spec?.Name === network);
  return a?.Addresses?.[0]?.split('/')[0] || undefined;
}

/** Host ports the task publishes, by container port. */
export function publishedPorts(task: SwarmTask | undefined): Record<number, number> {
  const ports: Record<number, number> = {};
  for (const p of task?.Status?.PortStatus?.Ports ?? [])
    if (p.TargetPort && p.PublishedPort) ports[p.TargetPort] = p.PublishedPort;
  return ports;
}

/** What a task is doing, for a message: `pending (no suitable node …)`. */
export function describeTask(t: SwarmTask | undefined): string {
  if (!t) return 'has no task';
  const why = t.Status?.Err || t.Status?.Message;
  return `is ${stateOf(t)}${why ? ` (${why})` : ''}`;
}
