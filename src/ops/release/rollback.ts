// `odp rollback PROJECT integration|prod`: back to the version the instance ran
// before its last deploy (or rollback), as the history recorded it. When that
// deploy ran a migration, its backup is the database's restore point: the
// rollback restores it under the maintenance page (after taking a new backup,
// so the data written since is never lost, only set aside); without a
// migration the old version's replicas replace the new ones without downtime.
import type { Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import { lockedUnlessDryRun } from '../../state/lock.js';
import { stepSubject, type ReleaseStep } from '../../plan/release-steps.js';
import { planUpgrade, isTier } from './upgrade-plan.js';
import type { ReleaseOptions } from './execute.js';
import { settleInterrupted } from './upgrade-recover.js';
import { applyRelease } from './upgrade.js';
import { rollbackTarget, type RollbackTarget } from './rollback-target.js';

export { rollbackTarget, type RollbackTarget } from './rollback-target.js';

export interface RollbackPlan extends RollbackTarget {
  /** The steps that run (the same the deploy's executor runs). */
  steps: ReleaseStep[];
}

export interface RollbackOptions extends ReleaseOptions {
  dryRun?: boolean;
  wait?: boolean;
  operationId?: number;
  /** Asked before a database restore (data written since the upgrade is set aside). */
  confirm?: (plan: RollbackPlan) => Promise<void>;
  onPlan?: (plan: RollbackPlan) => void;
}

export async function rollback(
  engine: Engine,
  dir: string,
  project: string,
  instance: string,
  o: RollbackOptions,
): Promise<{ plan: RollbackPlan; applied: boolean }> {
  if (!isTier(instance)) {
    throw new OdpError('USAGE', `rollback is for integration and prod; ${instance} is rebuilt from scratch`);
  }
  const run = async () => {
    if (!o.dryRun) await settleInterrupted(engine, dir, project, instance, o);
    const target = await rollbackTarget(dir, project, instance);
    const ctx = await planUpgrade(engine, dir, project, instance, {
      ...o,
      version: target.to,
      ...(target.restorePoint ? { restore: target.restorePoint } : {}),
    });
    const plan = { ...target, steps: ctx.release.steps };
    if (o.dryRun) return { plan, applied: false };
    o.onPlan?.(plan);
    if (plan.restorePoint) await o.confirm?.(plan);
    o.annotate?.({ fromVersion: target.from });
    await applyRelease(ctx, o);
    return { plan, applied: true };
  };
  return lockedUnlessDryRun(dir, `${project}-${instance}`, o, run);
}

export function formatRollbackPlan(p: RollbackPlan): string {
  const index = new Map(p.steps.map((s, i) => [s.id, i + 1]));
  return [
    `${p.project}/${p.instance}: ${p.from} → ${p.to} (undoes operation #${p.undoes})`,
    p.restorePoint
      ? `  database   restored to backup ${p.restorePoint}, taken before ${p.from} migrated; a backup of the current data is taken first`
      : '  database   unchanged (the rolled-back deploy ran no migration)',
    p.restorePoint
      ? '  replicas   stopped under the maintenance page, started again at the old version'
      : '  replicas   the old release started beside the current one, then the edge switches',
    ...p.steps.map(
      (s, i) =>
        `  #${i + 1} ${s.kind} ${stepSubject(s)}: ${s.cause}${s.after.length ? `  after #${s.after.map((a) => index.get(a)).join(', #')}` : ''}`,
    ),
  ].join('\n');
}
