// Waiting for a unit's task to be ready while a deploy waits for it.
//
// Swarm holds a task with a health check in `starting` until the check first
// passes, and only then reports it RUNNING (and gives it its DNS record): a
// RUNNING task is ready. Before that, odp probes the task itself where it can,
// as the Docker engine does (docs/decisions/0050): when the task runs on the
// task's node engine is reachable (the manager's own, or the address its host
// declares: node-engines.ts), its probe runs inside its container by exec. On a
// node odp cannot reach, the wait relies on Swarm's own check, which on Docker
// 20.10 (no start interval) first runs one interval after the start.
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import type { ReadinessProbe, WaitOptions } from '../engine.js';
import { probeInside } from '../docker/ready.js';
import type { Reached } from './node-engines.js';
import { inspectService, POLL_MS, replicasOf, sleep, tasksOf } from './services.js';
import { currentTask, describeTask, hasFailed, stateOf, type SwarmTask } from './tasks.js';

export interface ReadyContext {
  docker: Dockerode;
  /** The task's container and its node's engine, when odp reaches that node (so it can exec into it). */
  reach(task: SwarmTask): Promise<Reached | undefined>;
  lastLogs(lines: number): Promise<string>;
}

export async function waitTaskReady(
  unit: string,
  probe: ReadinessProbe | undefined,
  opts: WaitOptions,
  ctx: ReadyContext,
): Promise<void> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  let nextNote = started + 5000;
  const fail = async (why: string): Promise<never> => {
    throw new OdpError('DEPLOY_FAILED', `${unit} ${why}`, {
      detail: await ctx.lastLogs(40),
      hint: `See all of its output with: odp logs … (service ${unit})`,
    });
  };
  // Failures from before the wait are history; one during it is the unit failing.
  let failedBefore: Set<string> | undefined;
  for (;;) {
    const svc = await inspectService(ctx.docker, unit);
    if (!svc) return fail('is gone (removed while it was awaited)');
    const tasks = await tasksOf(ctx.docker, svc);
    failedBefore ??= new Set(tasks.filter(hasFailed).map((t) => t.ID));
    const failed = tasks.find((t) => hasFailed(t) && !failedBefore!.has(t.ID));
    if (failed) return fail(`ended before it became healthy: its task ${describeTask(failed)}`);
    if (replicasOf(svc) === 0) return fail('is stopped (0 replicas): start it first');
    const task = currentTask(tasks);
    if (task && stateOf(task) === 'running') return;
    if (task && probe && stateOf(task) === 'starting') {
      const at = await ctx.reach(task);
      if (at && (await probeInside(at.engine.docker, at.container, probe)).ready) return;
    }
    const now = Date.now();
    if (now >= deadline) {
      return fail(
        `did not become healthy within ${Math.round(opts.timeoutMs / 1000)}s: its task ${describeTask(task)}`,
      );
    }
    if (now >= nextNote) {
      opts.onWait?.(
        `waiting for ${unit} (${Math.round((now - started) / 1000)}s): its task ${describeTask(task)}`,
      );
      nextNote = now + 5000;
    }
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - now)));
  }
}
