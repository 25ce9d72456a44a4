// What `odp restore`, `odp db reset` and `odp db clone` share on the command
// line, loaded only when one runs: the dry run's output, and the run recorded
// in the instance's history with its plan (printed before it runs).
import { formatDataPlan, type DataPlan } from '../plan/data-ops.js';
import type { Progress } from '../progress.js';
import { recorded, type Annotations } from '../state/history.js';
import type { Ctx } from './command.js';
import { makeProgress } from './progress.js';

/** --dry-run: the plan, as text or (--json) as data; nothing was asked, locked or changed. */
export function printDryRun(ctx: Ctx, plan: DataPlan): number {
  ctx.out.data({ dryRun: true, plan });
  ctx.out.line(formatDataPlan(plan));
  ctx.out.note('dry run: nothing changed');
  return 0;
}

export interface PlanRunOptions {
  progress: Progress;
  annotate: (a: Annotations) => void;
  onPlan: (plan: DataPlan) => void;
}

/** Runs `body` as the instance's recorded operation `kind`: each step by kind and id, the plan kept. */
export async function recordedPlanRun<T>(
  ctx: Ctx,
  meta: { project: string; instance: string; kind: DataPlan['operation'] },
  json: boolean | undefined,
  body: (o: PlanRunOptions) => Promise<T>,
): Promise<T> {
  const progress = makeProgress();
  try {
    return await recorded(ctx.dir, meta, progress, (p, op) =>
      body({
        progress: p,
        annotate: op.annotate,
        onPlan: (plan) => {
          if (!json) progress.note(formatDataPlan(plan));
        },
      }),
    );
  } finally {
    progress.stop();
  }
}
