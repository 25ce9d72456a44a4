// An operation on a pinned instance that did not finish (odp killed, the host
// rebooted, a step failed) is settled from three facts: its plan, the steps the
// history recorded (by id, with their outcome; never by their text) and what
// runs now. Pure: it returns the plan that finishes or undoes it, which the
// same executor runs (docs/decisions/0058).
//
// The commit point is the edge routing the new release: before it nothing users
// see has changed, so the operation is undone (the new units removed, the
// database restored to the operation's restore point if a migration or a restore
// began, the old units started again and routed, maintenance left); after it the
// new release serves, so the operation is completed (the rest of its steps).
import type { ObservedRef } from './release.js';
import { removeStep, waitStep, type ReleasePlan, type ReleaseStep } from './release-steps.js';

export type RecordedOutcome = 'ok' | 'failed' | 'running' | 'interrupted' | 'replaced';

export interface RecordedStep {
  id: string;
  outcome: RecordedOutcome;
}

export interface SettleInput {
  plan: ReleasePlan;
  recorded: RecordedStep[];
  /** The instance's units now (any release, jobs included). */
  observed: Pick<ObservedRef, 'name'>[];
  /** The backup the operation took before changing the database, if it got that far. */
  restorePoint?: string | undefined;
}

export interface Settlement {
  action: 'complete' | 'undo' | 'nothing';
  /** Why, for people. */
  reason: string;
  steps: ReleaseStep[];
}

export function settle(input: SettleInput): Settlement {
  const { plan } = input;
  const began = new Set(input.recorded.map((r) => r.id));
  const done = new Set(input.recorded.filter((r) => r.outcome === 'ok').map((r) => r.id));
  const present = new Set(input.observed.map((o) => o.name));
  const route = plan.steps.find((s) => s.kind === 'route-edge');
  const committed = route ? done.has(route.id) : plan.steps.every((s) => done.has(s.id));
  if (committed) {
    const rest = plan.steps.filter((s) => !done.has(s.id) && !gone(s, present));
    return {
      action: rest.length ? 'complete' : 'nothing',
      reason: 'the edge routed the new release: the operation is carried through',
      steps: rest.map((s) => ({ ...s, after: s.after.filter((a) => rest.some((r) => r.id === a)) })),
    };
  }
  const steps = undoSteps(plan, began, present, input.restorePoint);
  return {
    action: steps.length ? 'undo' : 'nothing',
    reason: steps.length
      ? 'the edge never routed the new release: the operation is undone'
      : 'it had changed nothing yet',
    steps,
  };
}

/** A step on a unit that is not there any more has nothing left to do. */
function gone(s: ReleaseStep, present: Set<string>): boolean {
  return (s.kind === 'remove-unit' || s.kind === 'stop-unit') && !present.has(s.unit);
}

function undoSteps(
  plan: ReleasePlan,
  began: Set<string>,
  present: Set<string>,
  restorePoint: string | undefined,
): ReleaseStep[] {
  const out: ReleaseStep[] = [];
  const add = (s: ReleaseStep): string => {
    out.push(s);
    return s.id;
  };
  const started = (kind: ReleaseStep['kind']) => plan.steps.filter((s) => s.kind === kind && began.has(s.id));

  // New units first (sidecars before their odoo), made or started, and the
  // migration's unit, which may still run.
  const removals: string[] = [];
  const removeOnce = (unit: string, cause: string) => {
    if (present.has(unit) && !out.some((x) => x.id === `remove-unit:${unit}`))
      removals.push(add(removeStep(unit, cause, [])));
  };
  const made = [...started('create-unit'), ...started('start-unit')].sort(
    (a, b) => roleOrder(a) - roleOrder(b),
  );
  for (const s of made) {
    if (s.kind === 'create-unit' || s.kind === 'start-unit')
      removeOnce(s.unit, 'made by the unfinished operation');
  }
  const migrations = started('run-migration');
  for (const s of [...started('create-job'), ...migrations]) {
    if (s.kind === 'create-job' || s.kind === 'run-migration')
      removeOnce(s.job, 'a migration must not run on while the database is restored');
  }
  let gate = removals;
  const touched = migrations.length > 0 || started('restore-database').length > 0;
  if (touched && restorePoint) {
    gate = [
      add({
        id: `restore-database:${restorePoint}`,
        kind: 'restore-database',
        backup: restorePoint,
        cause: 'the database may have changed: back to the restore point taken before',
        after: gate,
      }),
    ];
  }
  // The old units kept aside, started again and healthy: each odoo before the
  // sidecars, which live in its network namespace.
  const waits: string[] = [];
  const odooResumed: string[] = [];
  for (const role of ['odoo', 'nginx'] as const) {
    for (const s of started('stop-unit')) {
      if (s.kind !== 'stop-unit' || s.role !== role || !present.has(s.unit)) continue;
      const after = role === 'odoo' ? gate : [...gate, ...odooResumed];
      const resume = add({
        id: `resume-unit:${s.unit}`,
        kind: 'resume-unit',
        unit: s.unit,
        role,
        cause: 'it served before the operation',
        after,
      });
      if (role === 'odoo') odooResumed.push(resume);
      waits.push(add(waitStep(s.unit, role, [resume])));
    }
  }
  let tail = [...gate, ...waits];
  for (const s of started('route-edge')) {
    if (s.kind !== 'route-edge') continue;
    tail = [
      add({
        id: `route-edge:${s.domain}`,
        kind: 'route-edge',
        domain: s.domain,
        servers: s.previous,
        previous: s.servers,
        cause: 'back to the units that served before',
        after: tail,
      }),
    ];
  }
  for (const s of started('enter-maintenance')) {
    if (s.kind !== 'enter-maintenance') continue;
    tail = [
      add({
        id: `leave-maintenance:${s.domain}`,
        kind: 'leave-maintenance',
        domain: s.domain,
        cause: 'the old release serves again',
        after: tail,
      }),
    ];
  }
  return out;
}

/** nginx sidecars before their odoo when removing. */
function roleOrder(s: ReleaseStep): number {
  return 'role' in s && s.role === 'nginx' ? 0 : 1;
}
