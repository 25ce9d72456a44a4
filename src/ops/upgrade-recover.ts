// An odp killed in the middle of a deploy or rollback of a pinned instance
// leaves its operation `running` in the history and maybe units under
// temporary names, the edge in maintenance, a half-migrated database. The next
// deploy or rollback of that instance settles it first, from what the history
// recorded step by step:
//
// - past its commit point (the edge routed the new replicas again, or the
//   no-migration upgrade was draining the old ones): completed — leftovers
//   removed, the version written to the spec;
// - before it: undone — the database restored to the operation's backup if a
//   migration or restore had started, the old replicas back under their names,
//   the edge out of maintenance.
//
// Either way the interrupted operation is marked settled by the current one.
import type { Engine } from '../engines/engine.js';
import { unitName } from '../model/stack.js';
import { history, settle } from '../state/history.js';
import { clearMaintenance } from '../state/maintenance.js';
import { silentProgress } from '../progress.js';
import { LIVE_STEPS, leaveMaintenance, undo, type LiveOptions } from './upgrade-live.js';
import { planUpgrade, type UpgradeContext } from './upgrade-plan.js';
import { pairNames, quiet } from './upgrade-units.js';
import { writeVersion } from './upgrade-version.js';

/** The first words of the steps that change the database (see upgrade-units, rollback). */
const DATABASE_STEPS = ['migrate ', 'restore the database'];
/** Steps after which an operation is carried through rather than undone. */
const COMMIT_STEPS = [LIVE_STEPS.leaveMaintenance, 'drain and remove the old replicas'];

export interface Settled {
  operation: number;
  version: string;
  action: 'completed' | 'undone';
  detail: string[];
}

/** Settles the newest unsettled interrupted deploy or rollback; call with the instance lock held. */
export async function settleInterrupted(
  engine: Engine,
  dir: string,
  project: string,
  instance: string,
  o: LiveOptions & { operationId?: number },
): Promise<Settled | undefined> {
  const op = history(dir, project, instance, 20).find(
    (x) =>
      x.outcome === 'interrupted' &&
      x.settledBy === null &&
      (x.kind === 'deploy' || x.kind === 'rollback') &&
      x.version !== null,
  );
  if (!op?.version) return undefined;
  o.progress.note(
    `${op.kind} #${op.id} of ${project}/${instance} to ${op.version} was interrupted (${op.detail ?? 'odp stopped'}): settling it first`,
  );
  const ctx = await planUpgrade(engine, dir, project, instance, {
    version: op.version,
    progress: silentProgress,
    ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
  });
  const began = (prefixes: readonly string[]) =>
    op.steps.some((s) => prefixes.some((p) => s.step.startsWith(p)));
  let settled: Settled;
  if (began(COMMIT_STEPS)) {
    await removeLeftovers(engine, ctx);
    clearMaintenance(dir, ctx.plan.domain);
    await leaveMaintenance(ctx, o).catch(() => undefined);
    await writeVersion(dir, project, instance, op.version);
    settled = {
      operation: op.id,
      version: op.version,
      action: 'completed',
      detail: ['the old replicas left aside were removed'],
    };
  } else {
    const restoreDatabase = began(DATABASE_STEPS) && op.backupId !== null;
    const detail = await undo(engine, ctx, o, {
      backupId: op.backupId ?? '',
      restoreDatabase,
    });
    await removeNext(engine, ctx);
    settled = { operation: op.id, version: op.version, action: 'undone', detail };
  }
  if (o.operationId !== undefined) settle(dir, op.id, o.operationId);
  o.progress.note(`${op.kind} #${op.id} ${settled.action}: ${settled.detail.join(' ')}`);
  return settled;
}

/** Units under temporary names: `-old` (kept aside), `-next` (not swapped in), the migration's. */
async function removeLeftovers(engine: Engine, ctx: UpgradeContext): Promise<void> {
  for (const r of replicas(ctx)) {
    const n = pairNames(ctx.stack.name, r);
    for (const u of [n.oldNginx, n.oldOdoo]) await quiet(engine.remove(u));
  }
  await removeNext(engine, ctx);
}

async function removeNext(engine: Engine, ctx: UpgradeContext): Promise<void> {
  for (const r of replicas(ctx)) {
    const n = pairNames(ctx.stack.name, r);
    for (const u of [n.nextNginx, n.nextOdoo]) await quiet(engine.remove(u));
  }
  await quiet(engine.remove(unitName(ctx.stack.name, 'migrate', 1)));
}

function replicas(ctx: UpgradeContext): number[] {
  return [...new Set([...ctx.units, ...ctx.observed].map((u) => u.replica))];
}
