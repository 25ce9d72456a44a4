// Runs an operation plan's steps with the shared executor (run-dag.ts) and
// reports each step with its kind and id, which the history records: how
// `settle()` and `odp history` know what ran, never by a step's text.
import type { PlanStep } from '../plan/step.js';
import type { Progress } from '../progress.js';
import { runDag, type DagResult } from './run-dag.js';

export interface StepOutcome {
  id: string;
  outcome: 'running' | 'ok' | 'failed';
}

export interface PlanRun<S extends PlanStep> extends DagResult<S, string> {
  /** Each started step and how it ended, in the order they started. */
  outcomes: StepOutcome[];
}

/**
 * Runs `steps` with `execute`; `prefix` marks steps of a second run in the same
 * operation (`undo/` …) so their ids stay unique in the history.
 */
export async function runPlan<S extends PlanStep>(
  steps: readonly S[],
  execute: (s: S) => Promise<void>,
  o: { progress: Progress; describe: (s: S) => string; prefix?: string },
): Promise<PlanRun<S>> {
  const prefix = o.prefix ?? '';
  const outcomes: StepOutcome[] = [];
  const mark = (id: string, outcome: StepOutcome['outcome']) => {
    const r = outcomes.find((x) => x.id === id);
    if (r) r.outcome = outcome;
    else outcomes.push({ id, outcome });
  };
  const r = await runDag<string, S>(steps, execute, {
    start: (s) => {
      mark(s.id, 'running');
      o.progress.start(prefix + s.id, o.describe(s), { kind: s.kind, id: prefix + s.id });
    },
    done: (s) => {
      mark(s.id, 'ok');
      o.progress.done(prefix + s.id);
    },
    fail: (s, e) => {
      mark(s.id, 'failed');
      o.progress.fail(prefix + s.id, e instanceof Error ? e.message : String(e));
    },
  });
  return { ...r, outcomes };
}
