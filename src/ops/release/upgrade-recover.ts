// An odp killed in the middle of a deploy or rollback of a pinned instance
// leaves its operation `running` in the history (read back as interrupted),
// with its plan and each step it began, by kind and id. The next deploy or
// rollback of that instance settles it first: settle() (plan/settle.ts) decides
// from the plan, the recorded steps and what runs now whether to carry it
// through (the edge had routed the new release) or to undo it, and the shared
// executor runs that. The interrupted operation is then marked settled.
import type { Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import type { ReleasePlan } from '../../plan/release-steps.js';
import { settle as settlement, type RecordedOutcome } from '../../plan/settle.js';
import { history, settle, type OperationRecord } from '../../state/history.js';
import { silentProgress } from '../../progress.js';
import { executeRelease, type ReleaseOptions } from './execute.js';
import { planUpgrade } from './upgrade-plan.js';

export interface Settled {
  operation: number;
  version: string;
  action: 'completed' | 'undone' | 'nothing';
  detail: string[];
}

/** Settles the newest unsettled interrupted deploy or rollback; call with the instance lock held. */
export async function settleInterrupted(
  engine: Engine,
  dir: string,
  project: string,
  instance: string,
  o: ReleaseOptions & { operationId?: number },
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
  const plan = op.plan as ReleasePlan | null;
  let action: Settled['action'] = 'nothing';
  const detail: string[] = [];
  if (plan?.steps) {
    // The runtime (unit specs, the migration job) of the interrupted operation's release.
    const ctx = await planUpgrade(engine, dir, project, instance, {
      version: op.version,
      progress: silentProgress,
      ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
    });
    if (ctx.release.release !== plan.release) {
      throw new OdpError(
        'DEPLOY_FAILED',
        `${op.kind} #${op.id} ran release ${plan.release} of ${op.version}; the spec now makes ${ctx.release.release}`,
        {
          hint: 'Put back the configuration it ran with, or settle it by hand (odp history shows its steps).',
        },
      );
    }
    const observed = await engine.observe({ platform: ctx.pd.platform.name, project, instance });
    const s = settlement({
      plan,
      recorded: recordedSteps(op),
      observed: observed.units,
      restorePoint: op.backupId ?? undefined,
    });
    if (s.steps.length) {
      await executeRelease(
        { ...ctx.runtime, plan, ...(op.backupId ? { restorePoint: op.backupId } : {}) },
        s.steps,
        o,
        'settle/',
      );
    }
    action = s.action === 'complete' ? 'completed' : s.action === 'undo' ? 'undone' : 'nothing';
    detail.push(s.reason);
  } else {
    detail.push('it recorded no plan (odp stopped before it began changing anything)');
  }
  if (o.operationId !== undefined) settle(dir, op.id, o.operationId);
  o.progress.note(`${op.kind} #${op.id} ${action}: ${detail.join(' ')}`);
  return { operation: op.id, version: op.version, action, detail };
}

/** The plan steps the operation began, by id (the history's other steps are not the plan's). */
function recordedSteps(op: OperationRecord): { id: string; outcome: RecordedOutcome }[] {
  return op.steps
    .filter((s): s is typeof s & { id: string } => s.id !== null && !s.id.includes('/'))
    .map((s) => ({ id: s.id, outcome: s.outcome as RecordedOutcome }));
}
