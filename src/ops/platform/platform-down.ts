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
import {
  PLATFORM_INSTANCE,
  PLATFORM_PROJECT,
  recordOperation,
  withOperationLocks,
  type Operation,
} from '../operation.js';

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
  const op: Operation = {
    dir,
    project: PLATFORM_PROJECT,
    instance: PLATFORM_INSTANCE,
    kind: 'platform-down',
    platform: 'exclusive',
    progress: o.progress,
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.wait !== undefined ? { wait: o.wait } : {}),
  };
  return withOperationLocks(op, async () => {
    const observed = await engine.observe({ platform: pd.platform.name, project: PLATFORM_PROJECT });
    const name = platformStackName(pd.platform);
    const plan = planRemoval({
      operation: 'platform-down',
      project: PLATFORM_PROJECT,
      instance: PLATFORM_INSTANCE,
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
