// `odp deploy PROJECT integration|prod --version X.Y.Z`, applied: replicas are
// replaced one at a time with zero downtime (the new pair started under
// temporary names and healthy first, then names swapped so the edge, which
// resolves its servers by container name, follows; the old pair drained and
// removed). On any failure the new units go, the old names come back and the
// old version keeps serving. A first deploy runs the pending migration once in
// a one-off container of the new image, then starts the replicas with
// MIGRATE=False. The deployed version is written to the project's spec.
import type { Engine } from '../engines/engine.js';
import { unitName } from '../model/stack.js';
import { OdpError } from '../errors.js';
import { writeVersion } from './upgrade-version.js';
import { lockedUnlessDryRun } from '../state/lock.js';
import { planUpgrade, type UpgradeContext, type UpgradePlan } from './upgrade-plan.js';
import { switchWithMaintenance, type LiveOptions } from './upgrade-live.js';
import { settleInterrupted } from './upgrade-recover.js';
import { unitUrl } from './shared-endpoint.js';
import {
  as,
  edgeFollows,
  migrate,
  migrationText,
  runMigration,
  pairNames,
  quiet,
  routeAtEdge,
  startPair,
  step,
  unitOf,
  wait,
  type PairNames,
  type UnitOptions,
} from './upgrade-units.js';

/**
 * How long the old replicas stay once the edge sends to the new ones: requests
 * in flight end, and the edge's idle connections to the old addresses are
 * purged (HAProxy's pool-purge-delay, 5 s) before the old nginx closes them.
 */
export const DRAIN_MS = 12_000;

export interface UpgradeOptions extends LiveOptions {
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
    await applyUpgrade(engine, ctx, o);
    await writeVersion(dir, project, instance, o.version);
    return { ...result, applied: true, ...(await localUrl(engine, ctx)) };
  };
  return lockedUnlessDryRun(dir, `${project}-${instance}`, o, run);
}

/** Whether applying this plan needs the migration flow with running replicas (backup, maintenance). */
export function needsLiveMigration(ctx: Pick<UpgradeContext, 'plan' | 'observed'>): boolean {
  // A fresh database has nothing to lose; anything else is backed up first.
  return (
    ctx.plan.migration.pending.length > 0 &&
    (!ctx.plan.migration.fresh || ctx.observed.some((u) => u.service === 'odoo' && u.state === 'running'))
  );
}

/** Applies a plan (the lock held, the interrupted settled): the flow its changes need. */
export async function applyUpgrade(
  engine: Engine,
  ctx: UpgradeContext,
  o: LiveOptions & { drainMs?: number },
): Promise<void> {
  const { stack, plan } = ctx;
  if (needsLiveMigration(ctx)) {
    await switchWithMaintenance(engine, ctx, o, {
      key: 'migrate',
      text: migrationText(ctx),
      run: () => runMigration(engine, ctx),
    });
    return;
  }
  const labels = {
    'odp.platform': ctx.pd.platform.name,
    'odp.project': plan.project,
    'odp.instance': plan.instance,
  };
  await engine.ensureNetwork(stack.network, labels);
  if (plan.migration.pending.length > 0) await migrate(engine, ctx, o);

  for (const change of plan.replicas) {
    const odoo = unitOf(ctx, 'odoo', change.replica);
    const nginx = unitOf(ctx, 'nginx', change.replica);
    if (change.action === 'start' && odoo && nginx) await startPair(engine, ctx, odoo, nginx, o);
    else if (change.action === 'remove') {
      const key = `remove-${change.replica}`;
      o.progress.start(key, `remove replica ${change.replica}`);
      await engine.remove(unitName(stack.name, 'nginx', change.replica));
      await engine.remove(change.unit);
      o.progress.done(key);
    }
  }
  await replacePairs(
    engine,
    ctx,
    plan.replicas.filter((r) => r.action === 'replace').map((r) => r.replica),
    o,
  );
  if (plan.replicas.some((r) => r.action === 'start' || r.action === 'remove'))
    await routeAtEdge(ctx, o, true);
}

/**
 * The replicas to replace, one at a time, without downtime: each new pair
 * healthy under `-next` names, the names swapped, the edge following. The old
 * pairs stay (renamed `-old`) until every replica is handed over, so a failure
 * anywhere puts every old pair back under its names, serving; and no address
 * an old pair frees goes to a new container the edge may still send to.
 */
async function replacePairs(
  engine: Engine,
  ctx: UpgradeContext,
  replicas: number[],
  o: LiveOptions & { drainMs?: number },
): Promise<void> {
  const swapped: PairNames[] = [];
  for (const r of replicas) {
    const odoo = unitOf(ctx, 'odoo', r);
    const nginx = unitOf(ctx, 'nginx', r);
    if (!odoo || !nginx) continue;
    const n = pairNames(ctx.stack.name, r);
    // Leftovers of an interrupted attempt.
    for (const u of [n.nextNginx, n.nextOdoo, n.oldNginx, n.oldOdoo]) await engine.remove(u);
    let renamed = false;
    try {
      await step(
        o,
        `new-${r}`,
        `start the new replica ${r} (${odoo.service.image}) beside the old one`,
        async () => {
          const id = await engine.run(as(odoo, 'odoo-next'));
          await engine.run(as(nginx, 'nginx-next', id));
          await wait(engine, n.nextOdoo, odoo, o);
          await wait(engine, n.nextNginx, nginx, o);
        },
      );
      await step(o, `swap-${r}`, `hand ${n.odoo} over to the new replica`, async () => {
        renamed = true;
        await engine.rename(n.nginx, n.oldNginx);
        await engine.rename(n.odoo, n.oldOdoo);
        await engine.rename(n.nextOdoo, n.odoo);
        await engine.rename(n.nextNginx, n.nginx);
        // The edge resolves its servers by name: it now sends to the new pair.
        await edgeFollows(engine, ctx, n.odoo, o);
      });
      swapped.push(n);
    } catch (e) {
      const logs = await engine.lastLogs(renamed ? n.odoo : n.nextOdoo, 30).catch(() => '');
      o.progress.note(`putting the old version back on ${ctx.stack.name}`);
      for (const back of [...swapped, ...(renamed ? [n] : [])].reverse()) await putBack(engine, ctx, back, o);
      await quiet(engine.remove(n.nextNginx));
      await quiet(engine.remove(n.nextOdoo));
      const base = e instanceof OdpError ? e : undefined;
      throw new OdpError(
        'DEPLOY_FAILED',
        `replacing replica ${r} of ${ctx.stack.name} failed: ${base?.message ?? (e instanceof Error ? e.message : String(e))}; the old version keeps serving`,
        { cause: e, ...((base?.detail ?? logs.trim()) ? { detail: base?.detail ?? logs.trim() } : {}) },
      );
    }
  }
  if (swapped.length === 0) return;
  await step(o, 'drain', `drain and remove the old replicas (${swapped.length})`, async () => {
    await new Promise((res) => setTimeout(res, o.drainMs ?? DRAIN_MS));
    for (const n of swapped) {
      await engine.remove(n.oldNginx); // SIGQUIT: nginx ends the requests in flight first
      await engine.remove(n.oldOdoo);
    }
  });
}

/** A swapped pair handed back: the old one under its names again, serving; the new one removed. */
async function putBack(engine: Engine, ctx: UpgradeContext, n: PairNames, o: UnitOptions): Promise<void> {
  if (!(await engine.explain(n.oldOdoo))) return; // never renamed away: the old pair still holds its names
  await quiet(engine.rename(n.nginx, n.nextNginx));
  await quiet(engine.rename(n.odoo, n.nextOdoo));
  await quiet(engine.rename(n.oldOdoo, n.odoo));
  await quiet(engine.rename(n.oldNginx, n.nginx));
  await quiet(engine.start(n.odoo));
  await quiet(engine.start(n.nginx));
  await quiet(edgeFollows(engine, ctx, n.odoo, o));
  await quiet(engine.remove(n.nextNginx));
  await quiet(engine.remove(n.nextOdoo));
}

async function localUrl(engine: Engine, ctx: UpgradeContext): Promise<{ localUrl?: string }> {
  const observed = await engine.observe({
    platform: ctx.pd.platform.name,
    project: ctx.plan.project,
    instance: ctx.plan.instance,
  });
  const odoo = observed.units.find((u) => u.name === unitName(ctx.stack.name, 'odoo', 1));
  const port = odoo?.ports[80];
  return port && odoo ? unitUrl(engine, odoo.name) : {};
}

export { writeVersion };
