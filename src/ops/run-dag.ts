// The one executor of plans: every step whose predecessors are done starts at
// once, so independent steps run in parallel; the first failure stops new
// steps and lets the running ones finish. Used by the test instance's plan
// (apply-plan.ts) and by the release plans of pinned instances (release/).
export interface DagStep<K extends string | number> {
  id: K;
  after: K[];
}

export interface DagHooks<S> {
  start(s: S): void;
  done(s: S): void;
  fail(s: S, error: unknown): void;
}

export interface DagResult<S, K> {
  done: Set<K>;
  failure?: { step: S; error: unknown };
}

export async function runDag<K extends string | number, S extends DagStep<K>>(
  steps: readonly S[],
  execute: (s: S) => Promise<void>,
  hooks: DagHooks<S>,
): Promise<DagResult<S, K>> {
  const done = new Set<K>();
  const running = new Map<K, Promise<void>>();
  const pending = [...steps];
  let failure: DagResult<S, K>['failure'];
  for (;;) {
    if (!failure) {
      for (const s of pending.filter((p) => p.after.every((a) => done.has(a)))) {
        pending.splice(pending.indexOf(s), 1);
        hooks.start(s);
        const p = execute(s).then(
          () => {
            done.add(s.id);
            hooks.done(s);
          },
          (error: unknown) => {
            failure ??= { step: s, error };
            hooks.fail(s, error);
          },
        );
        running.set(
          s.id,
          p.finally(() => running.delete(s.id)),
        );
      }
    }
    if (running.size === 0) break; // nothing runnable: either finished or stopped by a failure
    await Promise.race(running.values());
  }
  return failure ? { done, failure } : { done };
}
