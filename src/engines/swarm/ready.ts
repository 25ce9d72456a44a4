// Waiting for a unit's task to be ready while a deploy waits for it.
//
// Units carry no Swarm health check (docs/decisions/0074): a task is RUNNING as
// soon as its container runs. odp tells that it is ready as it does on one
// Docker host (docs/decisions/0050): by running the unit's probe inside its
// container, through the engine of the task's node (the manager's own, or the
// address its host declares: node-engines.ts), every poll until it passes. On a
// node odp cannot reach, a running task is taken as ready: nothing else can say.
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
    const state = task ? stateOf(task) : undefined;
    if (task && (state === 'running' || state === 'starting')) {
      // A unit with a probe is ready once it answers it, run in its container on its
      // node; without one, or on a node odp cannot reach, once its task runs.
      const at = probe ? await ctx.reach(task) : undefined;
      if (!at && state === 'running') return;
      if (at && probe && (await probeInside(at.engine.docker, at.container, probe)).ready) return;
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
