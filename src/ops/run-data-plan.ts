// Runs a plan that replaces an instance's data (plan/data-ops.ts) with the
// shared plan runner, each step recorded by kind and id. The units' steps are
// run here; the operation gives the handler of its data steps. The `start-unit`
// steps end every such plan and run after a failure too, each on its own (a
// unit that does not start keeps no other one stopped), for the units that were
// stopped, unless the plan's data was left unfinished (`keepStoppedFrom`).
import type { Engine } from '../engines/engine.js';
import { OdpError } from '../errors.js';
import { describeDataStep, type DataPlan, type DataStep } from '../plan/data-ops.js';
import type { Progress } from '../progress.js';
import type { Annotations } from '../state/history.js';
import { runPlan } from './run-plan.js';

/** What `odp restore`, `odp db reset` and `odp db clone` take besides their subject. */
export interface DataOpOptions {
  passphraseFile?: string;
  progress: Progress;
  /** Records what the operation learns (its plan) in its history entry. */
  annotate?: (a: Annotations) => void;
  /** Called with the plan before anything changes. */
  onPlan?: (plan: DataPlan) => void;
}

export interface DataPlanRun {
  failure?: { step: DataStep; error: unknown };
  /** The ids of the steps that began, and of those that ended well. */
  began: Set<string>;
  done: Set<string>;
  /** The units stopped, in the order they were, and those started again. */
  stopped: string[];
  started: string[];
  /** Units that did not start again, with why. */
  unstarted: { unit: string; error: string }[];
}

export async function runDataPlan(
  plan: DataPlan,
  execute: (s: DataStep) => Promise<void>,
  o: { engine: Engine; progress: Progress; prefix?: string },
): Promise<DataPlanRun> {
  const options = {
    progress: o.progress,
    describe: describeDataStep,
    ...(o.prefix ? { prefix: o.prefix } : {}),
  };
  const body = plan.steps.filter((s) => s.kind !== 'start-unit');
  const r = await runPlan(
    body,
    (s) => (s.kind === 'stop-unit' ? o.engine.stop(s.unit, 30) : execute(s)),
    options,
  );
  const began = new Set(r.outcomes.map((x) => x.id));
  const stopped = body.flatMap((s) => (s.kind === 'stop-unit' && r.done.has(s.id) ? [s.unit] : []));
  const run: DataPlanRun = {
    ...(r.failure ? { failure: r.failure } : {}),
    began,
    done: r.done,
    stopped,
    started: [],
    unstarted: [],
  };
  if (r.failure && plan.keepStoppedFrom !== null && began.has(plan.keepStoppedFrom)) return run;
  for (const s of plan.steps) {
    if (s.kind !== 'start-unit' || !stopped.includes(s.unit)) continue;
    const one = await runPlan([{ ...s, after: [] }], (x) => o.engine.start(x.unit), options);
    if (!one.failure) {
      run.started.push(s.unit);
      run.done.add(s.id);
    } else {
      const e = one.failure.error;
      run.unstarted.push({ unit: s.unit, error: e instanceof Error ? e.message : String(e) });
    }
    began.add(s.id);
  }
  return run;
}

/** A step the operation's planner never makes: a bug, said so. */
export function unexpectedStep(plan: DataPlan, s: DataStep): OdpError {
  return new OdpError('INTERNAL', `${s.kind} is no step of ${plan.operation}`);
}

/** After a run that did its work, the units that did not start again as an error; none: undefined. */
export function unstartedError(run: DataPlanRun, done: string, project: string): OdpError | undefined {
  if (run.unstarted.length === 0) return undefined;
  return new OdpError(
    'ENGINE',
    `${done}, but ${run.unstarted.map((u) => u.unit).join(', ')} did not start again`,
    {
      detail: run.unstarted.map((u) => `${u.unit} could not be started again: ${u.error}`).join('\n'),
      hint: `odp status ${project}`,
    },
  );
}
