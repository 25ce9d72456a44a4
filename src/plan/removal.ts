// Removing what runs, as a plan (decision 0061): `odp destroy` of an instance, of
// a branch instance (`--branch`, a deleted branch, expiry) and `platform down`.
// Facts in (the units, networks and volumes the engine reports, the records odp
// keeps), steps out. A branch's record goes first and the edge is reloaded
// without its domain before any unit goes, so no request reaches a unit about to
// vanish. Sidecars go before the units whose network namespace they live in;
// networks and volumes once no unit of the instance uses them; the route odp
// recorded for the instance is forgotten with its units. Pure.
import { edgeReload, edgeStepSubject, isEdgeStep, type EdgeStep } from './edge.js';
import { formatSteps, StepList, type OperationPlan, type PlanStep } from './step.js';

type StepBase = Omit<PlanStep, 'kind'>;

export type RemovalStep =
  | (StepBase &
      (
        | { kind: 'forget-branch'; branch: string; domain: string }
        /** `stopSeconds`: how long it is given to stop before it is killed. */
        | { kind: 'remove-unit'; unit: string; service: string; stopSeconds: number }
        /** `ifUnused`: another stack may still use it (the platform's tier networks): then it stays. */
        | { kind: 'remove-network'; network: string; ifUnused?: boolean }
        | { kind: 'remove-volume'; volume: string }
        | { kind: 'forget-serving'; servers: string[] }
      ))
  | EdgeStep;

export interface RemovalFacts {
  /** The verb, as the history names it: destroy, expire, platform-down. */
  operation: string;
  project: string;
  instance: string;
  /** The stack's name, for people. */
  stack: string;
  units: { name: string; service: string }[];
  /** How long a unit is given to stop (default 10 s). */
  stopSeconds?: number;
  networks: string[];
  /** Networks that go only if nothing else uses them. */
  sharedNetworks?: string[];
  volumes: string[];
  /** The units the edge was told to route the instance to (state/serving.ts), if recorded. */
  serving?: string[];
  /** A branch instance: its record (when there is one) and whether the edge runs to stop routing it. */
  branch?: { branch: string; domain: string; recorded: boolean; edgeRunning: boolean };
}

export interface RemovalPlan extends OperationPlan<RemovalStep> {
  stack: string;
}

/** Sidecars share their owner's network namespace: the nginx in front of each Odoo. */
const isSidecar = (u: { service: string }) => u.service === 'nginx';

export function planRemoval(f: RemovalFacts): RemovalPlan {
  const list = new StepList<RemovalStep>();
  let gate: string[] = [];
  if (f.branch?.recorded) {
    gate = [
      list.add({
        id: `forget-branch:${f.branch.branch}`,
        kind: 'forget-branch',
        branch: f.branch.branch,
        domain: f.branch.domain,
        cause: 'its record and Redis prefix go: the edge routes only the branches odp records',
        after: [],
      }),
    ];
    if (f.branch.edgeRunning) {
      for (const s of edgeReload(`the edge stops routing ${f.branch.domain}`, gate)) list.add(s);
      gate = [list.steps[list.steps.length - 1]!.id];
    }
  }
  const unitStep = (u: { name: string; service: string }, cause: string, after: string[]) =>
    list.add({
      id: `remove-unit:${u.name}`,
      kind: 'remove-unit',
      unit: u.name,
      service: u.service,
      stopSeconds: f.stopSeconds ?? 10,
      cause,
      after,
    });
  const byName = [...f.units].sort((a, b) => a.name.localeCompare(b.name));
  const sidecars = byName.filter(isSidecar).map((u) => unitStep(u, 'a sidecar goes before its owner', gate));
  const owners = byName
    .filter((u) => !isSidecar(u))
    .map((u) => unitStep(u, `${f.stack} is removed`, sidecars.length ? sidecars : gate));
  const units = [...sidecars, ...owners];
  const afterUnits = units.length ? units : gate;
  const networks = [...f.networks].sort().map((n) => ({ n, shared: false }));
  for (const { n, shared } of [...networks, ...(f.sharedNetworks ?? []).map((n) => ({ n, shared: true }))])
    list.add({
      id: `remove-network:${n}`,
      kind: 'remove-network',
      network: n,
      ...(shared ? { ifUnused: true } : {}),
      cause: shared
        ? 'unless an instance still uses it: it goes with the last one'
        : 'no unit of the instance is on it any more',
      after: afterUnits,
    });
  for (const v of [...f.volumes].sort())
    list.add({
      id: `remove-volume:${v}`,
      kind: 'remove-volume',
      volume: v,
      cause: 'no unit of the instance uses it any more',
      after: afterUnits,
    });
  if (f.serving)
    list.add({
      id: `forget-serving:${f.project}/${f.instance}`,
      kind: 'forget-serving',
      servers: f.serving,
      cause: 'the edge no longer routes to units that are gone',
      after: afterUnits,
    });
  return {
    operation: f.operation,
    project: f.project,
    instance: f.instance,
    stack: f.stack,
    steps: list.steps,
  };
}

/** The step's subject, as a person reads it. */
export function removalStepSubject(s: RemovalStep): string {
  if (isEdgeStep(s)) return edgeStepSubject(s);
  switch (s.kind) {
    case 'forget-branch':
      return `${s.branch} (${s.domain})`;
    case 'remove-unit':
      return s.unit;
    case 'remove-network':
      return s.network;
    case 'remove-volume':
      return s.volume;
    case 'forget-serving':
      return `${s.servers.join(', ') || 'nothing'}`;
  }
}

/** The engine's objects the plan removes: units by name, `network <name>`, `volume <name>`. */
export function removedObjects(p: RemovalPlan): string[] {
  return p.steps.flatMap((s) =>
    s.kind === 'remove-unit'
      ? [s.unit]
      : s.kind === 'remove-network'
        ? [`network ${s.network}`]
        : s.kind === 'remove-volume'
          ? [`volume ${s.volume}`]
          : [],
  );
}

/** One line per step: the dry run's output. */
export function formatRemovalPlan(p: RemovalPlan): string {
  const head = `${p.operation} ${p.stack}:`;
  if (p.steps.length === 0) return `${head} nothing to remove`;
  return [`${head} ${p.steps.length} steps`, ...formatSteps(p.steps, removalStepSubject)].join('\n');
}
