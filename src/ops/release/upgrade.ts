// `odp deploy PROJECT integration|prod --version X.Y.Z`: the release plan
// (upgrade-plan.ts, plan/release.ts) printed by --dry-run and run by the
// shared executor (release/execute.ts). Without a migration the new release's
// units start beside the old ones, the edge switches to them and the old ones
// drain: no downtime. With one, a restore point first, then a maintenance
// window as short as the migration. A failure before the edge switched undoes
// it all; an odp killed mid-way is settled by the next deploy or rollback.
import type { Engine } from '../../engines/engine.js';
import { lockedUnlessDryRun } from '../../state/lock.js';
import { planUpgrade, type UpgradeContext, type UpgradePlan } from './upgrade-plan.js';
import { executeRelease, type ReleaseOptions } from './execute.js';
import { settleInterrupted } from './upgrade-recover.js';
import { writeVersion } from './upgrade-version.js';
import { unitUrl } from '../platform/shared-endpoint.js';

export interface UpgradeOptions extends ReleaseOptions {
  version: string;
  /** The history entry of this deploy: an interrupted earlier one is marked settled by it. */
  operationId?: number;
  dryRun?: boolean;
  wait?: boolean;
  /** How long an old replica keeps its connections after the edge moved on. */
  drainMs?: number;
  /** Called with the plan before anything changes. */
  onPlan?: (plan: UpgradePlan) => void;
}

export interface UpgradeResult {
  plan: UpgradePlan;
  applied: boolean;
  localUrl?: string;
  url: string;
}

/** Deploys (or, with dryRun, only plans) a pinned version of integration or prod. */
export async function deployVersion(
  engine: Engine,
  dir: string,
  project: string,
  instance: string,
  o: UpgradeOptions,
): Promise<UpgradeResult> {
  const run = async (): Promise<UpgradeResult> => {
    if (!o.dryRun) await settleInterrupted(engine, dir, project, instance, o);
    const ctx = await planUpgrade(engine, dir, project, instance, o);
    const result = { plan: ctx.plan, applied: false, url: `https://${ctx.plan.domain}/` };
    if (o.dryRun) return { ...result, ...(await localUrl(engine, ctx)) };
    if (ctx.plan.upToDate) {
      await writeVersion(dir, project, instance, o.version);
      return { ...result, ...(await localUrl(engine, ctx)) };
    }
    o.onPlan?.(ctx.plan);
    if (ctx.plan.fromVersion) o.annotate?.({ fromVersion: ctx.plan.fromVersion });
    await applyRelease(ctx, o);
    return { ...result, applied: true, ...(await localUrl(engine, ctx)) };
  };
  return lockedUnlessDryRun(dir, `${project}-${instance}`, o, run);
}

/** Runs a planned release (the lock held, the interrupted settled), its plan kept in the history first. */
export async function applyRelease(ctx: UpgradeContext, o: ReleaseOptions): Promise<void> {
  o.annotate?.({ plan: ctx.release });
  await executeRelease(ctx.runtime, ctx.release.steps, o);
}

async function localUrl(engine: Engine, ctx: UpgradeContext): Promise<{ localUrl?: string }> {
  const observed = await engine.observe({
    platform: ctx.pd.platform.name,
    project: ctx.plan.project,
    instance: ctx.plan.instance,
  });
  const served = ctx.release.steps.find((s) => s.kind === 'route-edge');
  const odoo = observed.units.find(
    (u) => u.service === 'odoo' && u.replica === 1 && (!served || u.release === ctx.plan.release),
  );
  const port = odoo?.ports[80];
  return port && odoo ? unitUrl(engine, odoo.name) : {};
}

export { writeVersion };
