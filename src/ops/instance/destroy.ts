// `odp destroy PROJECT INSTANCE`: every unit, network and volume of the instance
// removed, as a plan (plan/removal.ts) made from what the engine reports, under
// the instance's lock and recorded in its history with the plan. `--dry-run`
// prints the same plan and changes nothing.
import { stackName } from '../../compose/instance.js';
import type { Engine } from '../../engines/engine.js';
import type { InstanceName } from '../../platform-spec/instance-names.js';
import { planRemoval, type RemovalPlan } from '../../plan/removal.js';
import { loadPlatformDir, requireProject } from '../../platformdir/load.js';
import type { Progress } from '../../progress.js';
import { serving } from '../../state/serving.js';
import { recordOperation, withOperationLocks, type Operation } from '../operation.js';
import { executeRemoval } from './removal.js';

export interface DestroyOptions {
  progress: Progress;
  dryRun?: boolean;
  wait?: boolean;
}

export interface DestroyResult {
  plan: RemovalPlan;
  /** What was removed: unit names, `network <name>`, `volume <name>`; nothing for a dry run. */
  removed: string[];
}

export async function destroyInstance(
  engine: Engine,
  dir: string,
  project: string,
  instance: InstanceName,
  o: DestroyOptions,
): Promise<DestroyResult> {
  const pd = await loadPlatformDir(dir);
  const spec = requireProject(pd, project).spec;
  await engine.ping();
  const op: Operation = { dir, project, instance, kind: 'destroy', progress: o.progress, dryRun: o.dryRun };
  if (o.wait !== undefined) op.wait = o.wait;
  return withOperationLocks(op, async () => {
    const observed = await engine.observe({ platform: pd.platform.name, project, instance });
    const routed = serving(dir, project, instance);
    const plan = planRemoval({
      operation: 'destroy',
      project,
      instance,
      stack: stackName(spec, instance),
      units: observed.units,
      networks: observed.networks,
      volumes: observed.volumes,
      ...(routed ? { serving: routed } : {}),
    });
    if (o.dryRun || plan.steps.length === 0) return { plan, removed: [] };
    const removed = await recordOperation(op, async (progress, h) => {
      h.annotate({ plan });
      return executeRemoval({ engine, pd, progress }, plan);
    });
    return { plan, removed };
  });
}
