// Runs a removal plan (plan/removal.ts): destroy, a branch's removal or expiry,
// platform down. Each step is reported with its kind and id, which the history
// records; the first failure stops the plan and names the step.
import type { Engine } from '../../engines/engine.js';
import { isEdgeStep, type EdgeStep } from '../../plan/edge.js';
import { removalStepSubject, type RemovalPlan, type RemovalStep } from '../../plan/removal.js';
import type { PlatformDir } from '../../platformdir/load.js';
import type { Progress } from '../../progress.js';
import { forgetBranch } from '../../state/branches.js';
import { clearServing } from '../../state/serving.js';
import { executeEdgeStep, type EdgeRun } from '../edge/edge-plan.js';
import type { EdgeControl } from '../edge/edge-sync.js';
import { OdpError } from '../../errors.js';
import { runSteps } from '../run-steps.js';

export interface RemovalRuntime {
  engine: Engine;
  pd: PlatformDir;
  progress: Progress;
  /** Needed when the plan reloads the edge (a branch's route goes). */
  edge?: EdgeControl;
  /** What to do when a step failed. */
  hint?: string;
}

export function describeRemoval(s: RemovalStep): string {
  return `${s.kind} ${removalStepSubject(s)}`;
}

/** Runs the plan; what it removed (unit names, `network <name>`, `volume <name>`). */
export async function executeRemoval(rt: RemovalRuntime, plan: RemovalPlan): Promise<string[]> {
  const removed: string[] = [];
  const edgeRun: EdgeRun | undefined = rt.edge && {
    pd: rt.pd,
    edge: rt.edge,
    progress: rt.progress,
    timeoutMs: 60_000,
    certificates: [],
  };
  await runSteps(
    plan.steps,
    async (s) => {
      if (!isEdgeStep(s)) {
        const gone = await executeStep(rt, plan, s);
        if (gone) removed.push(gone);
        return;
      }
      if (!edgeRun) throw new OdpError('INTERNAL', `${s.id} needs the edge's control`);
      return executeEdgeStep(edgeRun, s);
    },
    {
      progress: rt.progress,
      describe: describeRemoval,
      code: 'ENGINE',
      hint: rt.hint ?? 'Running it again removes what is left.',
    },
  );
  return removed;
}

async function executeStep(
  rt: RemovalRuntime,
  plan: RemovalPlan,
  s: Exclude<RemovalStep, EdgeStep>,
): Promise<string | undefined> {
  switch (s.kind) {
    case 'forget-branch':
      forgetBranch(rt.pd.dir, plan.project, s.branch);
      return;
    case 'remove-unit':
      await rt.engine.remove(s.unit, s.stopSeconds);
      return s.unit;
    case 'remove-network':
      try {
        await rt.engine.removeNetwork(s.network);
      } catch (e) {
        // A network another stack still uses stays; it goes with the last one.
        if (s.ifUnused) return;
        throw e;
      }
      return `network ${s.network}`;
    case 'remove-volume':
      await rt.engine.removeVolume(s.volume);
      return `volume ${s.volume}`;
    case 'forget-serving':
      clearServing(rt.pd.dir, plan.project, plan.instance);
      return;
  }
}
