// Changing the database under a pinned instance that serves users: an upgrade
// with a pending migration, or a rollback to a restore point. Users cannot be
// served by the old code on the new schema (nor the reverse), so this is the
// one flow with a maintenance window, kept as short as the migration itself:
//
//   backup (the restore point) → edge maintenance page → old replicas stopped
//   (their crons with them) and kept aside → the database prepared once (one
//   migration container, or a restore) → new replicas healthy → edge routes
//   again → old replicas removed.
//
// Any failure before the edge routes again undoes everything: the database is
// restored to the backup when it may have changed, the old replicas come back
// under their names, the edge leaves maintenance, and the error names the
// failing step with its logs. The maintenance flag lives in the state database,
// so an odp killed mid-way leaves the page up until the next command undoes it.
import type { Engine } from '../engines/engine.js';
import { unitName } from '../model/stack.js';
import { OdpError } from '../errors.js';
import type { Annotations } from '../state/history.js';
import { clearMaintenance, setMaintenance } from '../state/maintenance.js';
import { backupInstance } from './backup.js';
import { restoreInstance } from './backup-restore.js';
import type { UpgradeContext } from './upgrade-plan.js';
import {
  edgeFollows,
  pairNames,
  quiet,
  routeAtEdge,
  startPair,
  step,
  unitOf,
  wait,
  type UnitOptions,
} from './upgrade-units.js';

export interface LiveOptions extends UnitOptions {
  passphraseFile?: string;
  /** Records what the operation learns (its restore point) in its history entry. */
  annotate?: (a: Annotations) => void;
}

/** How the database reaches the new version's state while no replica runs. */
export interface Preparation {
  /** Step key in the history: `migrate` or `restore`. */
  key: string;
  text: string;
  run(): Promise<void>;
}

/** Step texts the recovery of an interrupted operation reads back from the history. */
export const LIVE_STEPS = {
  maintenanceOn: 'put the edge in maintenance for',
  leaveMaintenance: 'leave maintenance:',
} as const;

/** Runs the flow; returns the id of the backup taken first. */
export async function switchWithMaintenance(
  engine: Engine,
  ctx: UpgradeContext,
  o: LiveOptions,
  prepare: Preparation,
): Promise<string> {
  const { plan, pd } = ctx;
  o.progress.note(`restore point: a backup of ${plan.project}/${plan.instance} before anything changes`);
  const backupId = await backupInstance(engine, pd.dir, plan.project, plan.instance, {
    locked: true,
    progress: o.progress,
    ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
  });
  o.annotate?.({ backupId });
  const old = runningReplicas(ctx);
  let prepared = false;
  try {
    await step(o, 'maintenance', `${LIVE_STEPS.maintenanceOn} ${plan.domain}`, () =>
      enterMaintenance(ctx, o),
    );
    await step(
      o,
      'stop-old',
      `stop the old replicas and their crons, kept aside (${old.length})`,
      // All replicas at once: the maintenance window is as short as the slowest.
      () =>
        Promise.all(
          old.map(async (r) => {
            const n = pairNames(ctx.stack.name, r);
            for (const u of [n.oldNginx, n.oldOdoo]) await engine.remove(u); // an earlier attempt's
            await engine.stop(n.nginx, 30);
            await engine.stop(n.odoo, 30);
            await engine.rename(n.nginx, n.oldNginx);
            await engine.rename(n.odoo, n.oldOdoo);
          }),
        ),
    );
    prepared = true;
    await step(o, prepare.key, prepare.text, () => prepare.run());
    await Promise.all(
      ctx.units
        .filter((x) => x.service.role === 'odoo')
        .map(async (u) => {
          const nginx = unitOf(ctx, 'nginx', u.replica);
          if (!nginx) return;
          await startPair(engine, ctx, u, nginx, o);
          // Checked by the edge while in maintenance: routed the moment it ends.
          await edgeFollows(engine, ctx, unitName(ctx.stack.name, 'odoo', u.replica), o);
        }),
    );
    await step(o, 'leave-maintenance', `${LIVE_STEPS.leaveMaintenance} route ${plan.domain} again`, () =>
      leaveMaintenance(ctx, o),
    );
  } catch (e) {
    const logs = await engine.lastLogs(unitName(ctx.stack.name, 'odoo', 1), 30).catch(() => '');
    const aftermath = await undo(engine, ctx, o, { backupId, restoreDatabase: prepared });
    const base = e instanceof OdpError ? e : undefined;
    const message = base?.message ?? (e instanceof Error ? e.message : String(e));
    throw new OdpError('DEPLOY_FAILED', `${plan.project}/${plan.instance}: ${message}`, {
      cause: e,
      detail: [base?.detail ?? logs.trim(), '', ...aftermath].join('\n').trim(),
      hint: `odp history ${plan.project} ${plan.instance} shows each step.`,
    });
  }
  await step(o, 'remove-old', `remove the old replicas (${old.length})`, async () => {
    for (const r of old) {
      const n = pairNames(ctx.stack.name, r);
      await engine.remove(n.oldNginx);
      await engine.remove(n.oldOdoo);
    }
  });
  return backupId;
}

/** Replicas with a unit under their own name (running or not): the ones to keep aside. */
function runningReplicas(ctx: UpgradeContext): number[] {
  return ctx.observed
    .filter((u) => u.service === 'odoo' && u.name === unitName(ctx.stack.name, 'odoo', u.replica))
    .map((u) => u.replica)
    .sort((a, b) => a - b);
}

async function enterMaintenance(ctx: UpgradeContext, o: UnitOptions): Promise<void> {
  setMaintenance(ctx.pd.dir, {
    domain: ctx.plan.domain,
    project: ctx.plan.project,
    instance: ctx.plan.instance,
  });
  if (o.edge && (await o.edge.running(ctx.pd))) await o.edge.sync(ctx.pd);
}

/** Clears the flag, then (with an edge) routes the domain again and waits until it answers. */
export async function leaveMaintenance(
  ctx: Pick<UpgradeContext, 'pd' | 'plan'>,
  o: UnitOptions,
): Promise<void> {
  clearMaintenance(ctx.pd.dir, ctx.plan.domain);
  await routeAtEdge(ctx, o, true);
}

/**
 * Back to how it was: the database restored when it may have changed, the old
 * replicas under their names and running, the edge out of maintenance. Returns
 * what was done, for the error. If the restore itself fails the instance stays
 * in maintenance: serving the old code on a half-migrated database is worse.
 */
export async function undo(
  engine: Engine,
  ctx: UpgradeContext,
  o: LiveOptions,
  a: { backupId: string; restoreDatabase: boolean },
): Promise<string[]> {
  const { plan, pd } = ctx;
  const done: string[] = [];
  o.progress.note(`undoing: putting ${plan.project}/${plan.instance} back as it was`);
  await removeNewPairs(engine, ctx);
  if (a.restoreDatabase) {
    try {
      await restoreInstance(engine, pd.dir, plan.project, plan.instance, a.backupId, {
        locked: true,
        progress: o.progress,
        ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
      });
      done.push(`The database was restored from backup ${a.backupId}, taken before the change.`);
    } catch (e) {
      done.push(
        `The database could NOT be restored from ${a.backupId}: ${e instanceof Error ? e.message : String(e)}`,
        `${plan.domain} stays in maintenance. Restore it with: odp restore ${plan.project} ${plan.instance} ${a.backupId}`,
      );
      return done;
    }
  }
  const back = await putAsideBack(engine, ctx, o);
  if (back.length) done.push(`The old replicas serve again: ${back.join(', ')}.`);
  try {
    await leaveMaintenance(ctx, o);
    done.push(`${plan.domain} left maintenance.`);
  } catch (e) {
    done.push(`${plan.domain} left maintenance but the edge does not route it yet: ${String(e)}`);
  }
  return done;
}

/** Units started under the replicas' own names while the old ones are aside. */
async function removeNewPairs(engine: Engine, ctx: Pick<UpgradeContext, 'stack' | 'units'>): Promise<void> {
  for (const u of ctx.units.filter((x) => x.service.role === 'odoo')) {
    const n = pairNames(ctx.stack.name, u.replica);
    if (!(await engine.explain(n.oldOdoo))) continue; // the old pair still holds its names
    await quiet(engine.remove(n.nginx));
    await quiet(engine.remove(n.odoo));
  }
  await quiet(engine.remove(unitName(ctx.stack.name, 'migrate', 1)));
}

/** The pairs kept aside, under their names again and healthy; returns their names. */
export async function putAsideBack(
  engine: Engine,
  ctx: Pick<UpgradeContext, 'stack' | 'units' | 'observed'>,
  o: UnitOptions,
): Promise<string[]> {
  const back: string[] = [];
  const replicas = new Set([...ctx.units.map((u) => u.replica), ...ctx.observed.map((u) => u.replica)]);
  for (const r of [...replicas].sort((a, b) => a - b)) {
    const n = pairNames(ctx.stack.name, r);
    if (!(await engine.explain(n.oldOdoo))) continue;
    await quiet(engine.remove(n.nginx));
    await quiet(engine.remove(n.odoo));
    await engine.rename(n.oldOdoo, n.odoo);
    if (await engine.explain(n.oldNginx)) await engine.rename(n.oldNginx, n.nginx);
    await engine.start(n.odoo);
    await engine.start(n.nginx);
    // The old version's odoo answers the same probe as the new one's.
    await wait(
      engine,
      n.odoo,
      ctx.units.find((u) => u.service.role === 'odoo'),
      o,
    );
    back.push(n.odoo);
  }
  return back;
}
