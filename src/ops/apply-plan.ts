// Runs a plan on an engine: every step whose predecessors are done starts at
// once, so independent services start in parallel; the first failure stops new
// steps, lets running ones finish, and is reported with the failing step.
import type { Engine } from '../engines/engine.js';
import { unitName } from '../model/stack.js';
import { OdpError } from '../errors.js';
import type { Plan, Step } from '../plan/plan.js';
import type { Progress } from '../progress.js';

export interface ApplyOptions {
  labels: Record<string, string>;
  healthTimeoutMs: number;
  progress: Progress;
}

export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'run':
      return `start ${unitName(s.unit.stack, s.unit.service.name, s.unit.replica)}`;
    case 'wait-healthy':
      return `wait for ${s.unit} to be healthy`;
    case 'remove':
      return `remove ${s.unit}`;
    default:
      return `${s.kind.replace('-', ' ')} ${s.name}`;
  }
}

async function execute(engine: Engine, s: Step, o: ApplyOptions): Promise<void> {
  switch (s.kind) {
    case 'create-network':
      return engine.ensureNetwork(s.name, o.labels);
    case 'create-volume':
      return engine.ensureVolume(s.name, o.labels);
    case 'remove-volume':
      return engine.removeVolume(s.name);
    case 'remove':
      return engine.remove(s.unit);
    case 'run':
      await engine.run(s.unit);
      return;
    case 'wait-healthy':
      return engine.waitReady(s.unit, s.probe, {
        timeoutMs: o.healthTimeoutMs,
        onWait: (d) => o.progress.note(d),
      });
  }
}

export async function applyPlan(engine: Engine, plan: Plan, o: ApplyOptions): Promise<void> {
  const done = new Set<number>();
  const running = new Map<number, Promise<void>>();
  let failure: { step: Step; error: unknown } | undefined;
  const pending = [...plan.steps];

  while (pending.length > 0 || running.size > 0) {
    if (!failure) {
      for (const s of pending.filter((p) => p.after.every((a) => done.has(a)))) {
        pending.splice(pending.indexOf(s), 1);
        const key = String(s.id);
        o.progress.start(key, describeStep(s));
        const p = execute(engine, s, o).then(
          () => {
            done.add(s.id);
            o.progress.done(key);
          },
          (error: unknown) => {
            failure ??= { step: s, error };
            o.progress.fail(key, error instanceof Error ? error.message : String(error));
          },
        );
        running.set(
          s.id,
          p.finally(() => running.delete(s.id)),
        );
      }
    }
    if (running.size === 0) break; // nothing runnable: either finished or stopped by a failure
    await Promise.race(running.values());
  }
  if (failure) {
    const e = failure.error;
    const base = e instanceof OdpError ? e : undefined;
    throw new OdpError(
      'DEPLOY_FAILED',
      `step #${failure.step.id} (${describeStep(failure.step)}) failed: ${base?.message ?? String(e)}`,
      {
        cause: e,
        ...(base?.detail ? { detail: base.detail } : {}),
        ...(base?.hint ? { hint: base.hint } : {}),
      },
    );
  }
  if (done.size !== plan.steps.length) {
    throw new OdpError(
      'INTERNAL',
      `plan ${plan.stack} stalled after ${done.size} of ${plan.steps.length} steps`,
    );
  }
}
