// `odp platform down`: the shared services' units removed, their networks when
// no instance uses them any more, their volumes only when purging was asked for
// and confirmed. A removal plan (plan/removal.ts), printed by --dry-run, run
// under the platform lock exclusive (decision 0060: never under a running
// deploy) and recorded in the history as `platform-down`.
import { edgeNetwork, platformStackName, tierNetwork } from '../../compose/platform.js';
import type { Engine } from '../../engines/engine.js';
import { planRemoval, type RemovalPlan } from '../../plan/removal.js';
import { loadPlatformDir } from '../../platformdir/load.js';
import type { Progress } from '../../progress.js';
import { executeRemoval } from '../instance/removal.js';
import { platformOperation, recordOperation, withOperationLocks } from '../operation.js';

export interface PlatformDownResult {
  plan: RemovalPlan;
  /** Unit names, `network <name>`, `volume <name>`: what the plan removes (nothing for a dry run). */
  removed: string[];
  /** Volumes kept (without --purge). */
  kept: string[];
}

export async function platformDown(
  engine: Engine,
  dir: string,
  o: { purge: boolean; progress: Progress; dryRun?: boolean; wait?: boolean },
): Promise<PlatformDownResult> {
  const pd = await loadPlatformDir(dir);
  await engine.ping();
  const op = platformOperation(dir, 'platform-down', o);
  return withOperationLocks(op, async () => {
    const observed = await engine.observe({ platform: pd.platform.name, project: op.project });
    const name = platformStackName(pd.platform);
    const plan = planRemoval({
      operation: 'platform-down',
      project: op.project,
      instance: op.instance,
      stack: name,
      units: observed.units,
      stopSeconds: 30,
      networks: [],
      sharedNetworks: [
        name,
        tierNetwork(pd.platform, 'prod'),
        tierNetwork(pd.platform, 'integration'),
        edgeNetwork(pd.platform),
      ],
      volumes: o.purge ? observed.volumes : [],
    });
    const kept = o.purge ? [] : observed.volumes;
    if (o.dryRun) return { plan, removed: [], kept };
    const removed = await recordOperation(op, async (progress, h) => {
      h.annotate({ plan });
      const hint = 'Running platform down again removes what is left.';
      return executeRemoval({ engine, pd, progress, hint }, plan);
    });
    return { plan, removed, kept };
  });
}
