// A plan's steps run with the shared executor (run-plan.ts), the first failure
// thrown as one error that names the step: what every plan but the release
// plans (which undo on failure, release/execute.ts) needs of a run.
import { OdpError, type ErrorCode } from '../errors.js';
import type { PlanStep } from '../plan/step.js';
import type { Progress } from '../progress.js';
import { runPlan } from './run-plan.js';

export async function runSteps<S extends PlanStep>(
  steps: readonly S[],
  execute: (s: S) => Promise<void>,
  o: { progress: Progress; describe: (s: S) => string; code?: ErrorCode; hint?: string },
): Promise<void> {
  const { done, failure } = await runPlan(steps, execute, o);
  if (failure) {
    const e = failure.error;
    const base = e instanceof OdpError ? e : undefined;
    const hint = base?.hint ?? o.hint;
    throw new OdpError(
      o.code ?? 'DEPLOY_FAILED',
      `step #${steps.indexOf(failure.step) + 1} (${o.describe(failure.step)}) failed: ${base?.message ?? String(e)}`,
      { cause: e, ...(base?.detail ? { detail: base.detail } : {}), ...(hint ? { hint } : {}) },
    );
  }
  if (done.size !== steps.length) {
    throw new OdpError('INTERNAL', `the plan stalled after ${done.size} of ${steps.length} steps`);
  }
}
