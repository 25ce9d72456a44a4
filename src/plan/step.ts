// What every operation plan is made of (docs/decisions/0058): typed steps, each
// with an id `<kind>:<subject>` unique in its plan (how the history names it),
// the cause that put it there and the ids of the steps it waits for. A plan is
// data: `--dry-run` prints it, `--json` emits it, the run executes the same
// object with one executor (ops/run-plan.ts) and the history stores it.

export interface PlanStep {
  id: string;
  kind: string;
  cause: string;
  /** Ids of the steps that must have ended first. */
  after: string[];
}

/** A plan of one operation on one instance (or on the platform: instance `-`). */
export interface OperationPlan<S extends PlanStep = PlanStep> {
  /** The verb, as the history names it: restore, db-reset, destroy … */
  operation: string;
  project: string;
  instance: string;
  steps: S[];
}

/** A step as `StepList.add` takes it; distributed over a union of step kinds, each keeps its own fields. */
export type NewStep<S extends PlanStep> = S extends PlanStep
  ? Omit<S, 'after'> & { after?: string[] }
  : never;

/**
 * Builds a plan's steps in order: each added step waits for the previous one
 * unless told what it waits for. Returns the id, for later `after` lists.
 */
export class StepList<S extends PlanStep> {
  readonly steps: S[] = [];
  private last: string | undefined;

  add(s: NewStep<S>): string {
    const after = s.after ?? (this.last ? [this.last] : []);
    if (this.steps.some((x) => x.id === s.id)) throw new Error(`duplicate plan step ${s.id}`);
    this.steps.push({ ...s, after } as S);
    this.last = s.id;
    return s.id;
  }
}

/** A step as the history keeps it when its data is bulky (a unit's whole specification): what, why, after what. */
export function stepSummary(s: PlanStep): PlanStep {
  return { id: s.id, kind: s.kind, cause: s.cause, after: s.after };
}

/** The steps no other step waits for: what a step added after the whole plan waits for. */
export function lastSteps(steps: readonly PlanStep[]): string[] {
  const waitedFor = new Set(steps.flatMap((s) => s.after));
  return steps.filter((s) => !waitedFor.has(s.id)).map((s) => s.id);
}

/** One line per step, the dry run's output: `  #n kind subject: cause  after #i, #j`. */
export function formatSteps<S extends PlanStep>(steps: readonly S[], subject: (s: S) => string): string[] {
  const index = new Map(steps.map((s, i) => [s.id, i + 1]));
  return steps.map((s, i) => {
    const after = s.after.length ? `  after #${s.after.map((a) => index.get(a)).join(', #')}` : '';
    const what = subject(s);
    return `  #${i + 1} ${s.kind}${what ? ` ${what}` : ''}: ${s.cause}${after}`;
  });
}
