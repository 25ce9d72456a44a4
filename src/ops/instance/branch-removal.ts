// Removing branch instances: on `odp destroy --branch`, a webhook's branch
// deletion (`odp serve`) and expiry. A plan like destroy's (plan/removal.ts),
// with the branch's own steps first: its record (and Redis prefix) forgotten,
// then the edge reloaded without its domain, before any unit goes. Recorded in
// the branch instance's history; `--dry-run` prints the plan, changes nothing.
import { branchInstanceLabel, branchSlug } from '../../compose/branch.js';
import type { Engine } from '../../engines/engine.js';
import { planRemoval, type RemovalPlan } from '../../plan/removal.js';
import { loadPlatformDir, type PlatformDir } from '../../platformdir/load.js';
import { silentProgress, type Progress } from '../../progress.js';
import { getBranch, listBranches, type BranchRecord } from '../../state/branches.js';
import type { EdgeControl } from '../edge/edge-sync.js';
import { recordOperation, withOperationLocks, type Operation } from '../operation.js';
import { executeRemoval } from './removal.js';

export interface RemoveBranchOptions {
  progress: Progress;
  edge?: EdgeControl;
  dryRun?: boolean;
}

export interface BranchRemoval {
  /** Whether it was removed (false for a dry run, and when there was nothing). */
  removed: boolean;
  /** What was removed: unit names, `network <name>`, `volume <name>`. */
  objects: string[];
  /** The plan, when there was anything to remove. */
  plan?: RemovalPlan;
}

/**
 * Removes a branch instance. An unknown branch is not an error here (a webhook
 * for a branch that never had an instance): `removed` says whether there was anything.
 */
export async function removeBranch(
  engine: Engine,
  dir: string,
  project: string,
  branch: string,
  o: RemoveBranchOptions,
): Promise<BranchRemoval> {
  return removeIf(engine, await loadPlatformDir(dir), project, branch, 'destroy', o, () => true);
}

async function removeIf(
  engine: Engine,
  pd: PlatformDir,
  project: string,
  branch: string,
  kind: string,
  o: RemoveBranchOptions,
  still: (r: BranchRecord | undefined) => boolean,
): Promise<BranchRemoval> {
  const dir = pd.dir;
  const slug = getBranch(dir, project, branch)?.slug ?? branchSlug(branch);
  const instance = branchInstanceLabel(slug);
  await engine.ping();
  const op: Operation = { dir, project, instance, kind, progress: o.progress, dryRun: o.dryRun };
  return withOperationLocks(op, async () => {
    // Read again under the lock: a deploy may have come in while waiting.
    const row = getBranch(dir, project, branch);
    if (!still(row)) return { removed: false, objects: [] };
    const observed = await engine.observe({ platform: pd.platform.name, project, instance });
    const found = observed.units.length + observed.networks.length + observed.volumes.length;
    if (!row && found === 0) return { removed: false, objects: [] };
    const plan = planRemoval({
      operation: kind,
      project,
      instance,
      stack: row?.stack ?? `${project}/${instance}`,
      units: observed.units,
      networks: observed.networks,
      volumes: observed.volumes,
      branch: {
        branch,
        domain: row?.domain ?? slug,
        recorded: !!row,
        edgeRunning: !!row && !!o.edge && (await o.edge.running(pd)),
      },
    });
    if (o.dryRun) return { removed: false, objects: [], plan };
    const objects = await recordOperation(op, async (progress, h) => {
      h.annotate({ plan });
      return executeRemoval({ engine, pd, progress, ...(o.edge ? { edge: o.edge } : {}) }, plan);
    });
    return { removed: true, objects, plan };
  });
}

export interface ExpireOptions {
  /** Default: the platform's `branches.expireAfterHours`. */
  olderThanMs?: number;
  now?: Date | number;
  dryRun?: boolean;
  progress?: Progress;
  edge?: EdgeControl;
}

export interface Expiry {
  expired: BranchRecord[];
  kept: BranchRecord[];
  olderThanMs: number;
  /** Each expired branch's removal plan, in the order of `expired`. */
  plans: RemovalPlan[];
}

/** Removes the branch instances whose last deploy is older than the limit; each recorded as `expire`. */
export async function expireBranches(engine: Engine, dir: string, o: ExpireOptions = {}): Promise<Expiry> {
  const pd = await loadPlatformDir(dir);
  const olderThanMs = o.olderThanMs ?? pd.platform.branches.expireAfterHours * 3_600_000;
  const now = o.now === undefined ? Date.now() : Number(o.now);
  const stale = (r: BranchRecord | undefined) => !!r && now - Date.parse(r.lastDeployAt) > olderThanMs;
  const all = listBranches(dir);
  const kept = all.filter((r) => !stale(r));
  const done: BranchRecord[] = [];
  const plans: RemovalPlan[] = [];
  for (const r of all.filter(stale)) {
    const x = await removeIf(
      engine,
      pd,
      r.project,
      r.branch,
      'expire',
      { progress: o.progress ?? silentProgress, ...(o.edge ? { edge: o.edge } : {}), dryRun: o.dryRun },
      stale,
    );
    if (x.plan) {
      done.push(r);
      plans.push(x.plan);
    } else if (getBranch(dir, r.project, r.branch)) kept.push(r); // deployed again meanwhile
  }
  return { expired: done, kept, olderThanMs, plans };
}
