// Runs a test instance's (or the platform's) plan on an engine with the shared
// executor (run-plan.ts): independent services start in parallel, each step is
// reported with its kind and id (the history records them); the first failure is
// reported with the failing step.
import type { Engine } from '../../engines/engine.js';
import { unitName } from '../../model/stack.js';
import type { Plan, Step } from '../../plan/plan.js';
import type { Progress } from '../../progress.js';
import { runSteps } from '../run-steps.js';

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

export async function executeStackStep(engine: Engine, s: Step, o: ApplyOptions): Promise<void> {
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
  await runSteps(plan.steps, (s) => executeStackStep(engine, s, o), {
    progress: o.progress,
    describe: describeStep,
  });
}
