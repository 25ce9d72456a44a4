// desired Stack + observed units → an ordered plan. A plan is a DAG of steps,
// each one engine call with the cause that requires it, so the same object
// drives the dry run (printed) and the deploy (executed, in parallel where the
// DAG allows). Pure: the image ids and the observation are inputs. Steps are
// PlanSteps (step.ts): their id, `<kind>:<subject>`, is how the history names them.
import type { Observed, ObservedUnit, PublishedPort, ReadinessProbe, UnitSpec } from '../engines/engine.js';
import { type Service, type Stack, unitName } from '../model/stack.js';
import { placementConstraints } from '../compose/placement.js';
import { configHash } from './hash.js';
import { edgeStepSubject, type EdgeStep } from './edge.js';
import { formatSteps, stepSummary, type PlanStep } from './step.js';

type StepBase = Omit<PlanStep, 'kind'>;

export type Step = StepBase &
  (
    | { kind: 'create-network'; name: string }
    | { kind: 'create-volume'; name: string }
    | { kind: 'remove-volume'; name: string }
    | { kind: 'remove'; unit: string }
    | { kind: 'run'; unit: UnitSpec }
    | {
        kind: 'wait-healthy';
        unit: string;
        /** How odp tells it is ready while it waits: the service's health probe. */
        probe?: ReadinessProbe;
      }
  );

/** A step before it has its id. */
type Draft = Step extends infer S ? (S extends Step ? Omit<S, 'id'> : never) : never;

export interface Plan {
  stack: string;
  steps: Step[];
  /** Units left running as they are. */
  unchanged: string[];
  /** The edge's steps once the stack's have run (routing the instance, its certificate); an operation adds them. */
  edge: EdgeStep[];
}

export interface PlanInput {
  stack: Stack;
  imageIds: Readonly<Record<string, string>>;
  observed: Observed;
  /**
   * The test instance's rule: any change recreates the whole stack and wipes its
   * volumes, so the database starts empty again with the new image.
   */
  freshOnChange: boolean;
}

/** Every unit the stack wants, sidecars paired with the replica whose network they share. */
export function desiredUnits(stack: Stack, imageIds: Readonly<Record<string, string>>): UnitSpec[] {
  const byName = new Map(stack.services.map((s) => [s.name, s]));
  const hashes = new Map<string, string>();
  const units: UnitSpec[] = [];
  // Owners before sidecars, so a sidecar's hash can include its owner's.
  const ordered = [...stack.services].sort(
    (a, b) => Number(!!a.sharesNetworkWith) - Number(!!b.sharesNetworkWith),
  );
  for (const service of ordered) {
    const owner = service.sharesNetworkWith ? byName.get(service.sharesNetworkWith) : undefined;
    const count = (owner ?? service).placement.replicas;
    for (let r = 1; r <= count; r++) {
      const ownerUnit = owner ? unitName(stack.name, owner.name, r) : undefined;
      // A unit publishes its own published ports and its sidecars' ports (they live in
      // its network namespace); a sidecar's port goes to loopback unless it says otherwise.
      const publish: PublishedPort[] = [
        ...service.ports.filter((p) => p.published !== undefined).map((p) => published(p)),
        ...stack.services
          .filter((s) => s.sharesNetworkWith === service.name)
          .flatMap((s) => s.ports.map((p) => published({ ...p, published: p.published ?? 0 }))),
      ];
      // A replica pinned to a host moves when its host does: the pin is part of its configuration.
      const pin = (owner ?? service).placement.hosts?.[r - 1];
      const hash = configHash(service, imageIds[service.image] ?? 'missing', {
        owner: ownerUnit ? (hashes.get(ownerUnit) ?? null) : null,
        publish,
        ...(pin ? { pinnedTo: pin } : {}),
      });
      const name = unitName(stack.name, service.name, r);
      hashes.set(name, hash);
      units.push({
        stack: stack.name,
        network: stack.network,
        service,
        replica: r,
        configHash: hash,
        ...(ownerUnit ? { sharesNetworkWithUnit: ownerUnit } : {}),
        publish,
        // Not part of the hash: one host ignores it, and a rule change must not recreate its units.
        placement: { constraints: placementConstraints(stack, owner ?? service, r) },
      });
    }
  }
  return units;
}

export function planStack(input: PlanInput): Plan {
  const { stack, observed } = input;
  const desired = desiredUnits(stack, input.imageIds);
  const seen = new Map(observed.units.map((u) => [u.name, u]));
  const changeOf = (u: UnitSpec): string | undefined => {
    const o = seen.get(unitName(stack.name, u.service.name, u.replica));
    if (!o) return 'not running yet';
    if (o.configHash !== u.configHash) return describeChange(o, u, input.imageIds);
    if (o.state !== 'running') return `is ${o.state}`;
    if (o.health === 'unhealthy') return 'is unhealthy';
    return undefined;
  };
  const changes = new Map(desired.map((u) => [u, changeOf(u)]));
  const wanted = new Set(desired.map((u) => unitName(stack.name, u.service.name, u.replica)));
  const strays = observed.units.filter((o) => !wanted.has(o.name));
  const anyChange = [...changes.values()].some(Boolean) || strays.length > 0;
  if (!anyChange) return { stack: stack.name, steps: [], unchanged: [...wanted], edge: [] };

  const steps: Step[] = [];
  const add = (draft: Draft): string => {
    const s = { ...draft, id: '' } as Step;
    s.id = `${s.kind}:${stepSubject(s)}`;
    steps.push(s);
    return s.id;
  };
  const fresh = input.freshOnChange;
  const cause = (u: UnitSpec): string | undefined =>
    changes.get(u) ?? (fresh ? 'the test stack is rebuilt' : undefined);

  const net = observed.networks.includes(stack.network)
    ? []
    : [add({ after: [], kind: 'create-network', name: stack.network, cause: 'not found' })];

  // Removals: units being replaced, and strays that no desired unit claims.
  const removed = new Map<string, string>();
  for (const o of [...observed.units].sort(byName)) {
    const d = desired.find((u) => unitName(stack.name, u.service.name, u.replica) === o.name);
    const why = d ? cause(d) : 'no longer in the spec';
    if (why) removed.set(o.name, add({ after: [], kind: 'remove', unit: o.name, cause: why }));
  }
  // Volumes: a fresh rebuild wipes them (after the units using them are gone).
  const volumeSteps = new Map<string, string>();
  for (const v of stack.volumes) {
    const users = stack.services.filter((s) => s.volumes.some((m) => m.volume === v));
    const usersGone = observed.units
      .filter((o) => users.some((s) => s.name === o.service))
      .flatMap((o) => removed.get(o.name) ?? []);
    let after = [...net];
    if (fresh && observed.volumes.includes(v)) {
      after = [
        add({
          after: usersGone,
          kind: 'remove-volume',
          name: v,
          cause: 'the test database starts empty',
        }),
      ];
    } else if (observed.volumes.includes(v)) continue;
    volumeSteps.set(v, add({ after, kind: 'create-volume', name: v, cause: 'not found' }));
  }

  // Runs, in dependency order: each waits for its dependencies to be healthy.
  // unit name → its run step and its wait step (units left as they are have neither)
  const started = new Map<string, string>();
  const healthy = new Map<string, string>();
  for (const u of orderByDependencies(desired)) {
    const name = unitName(stack.name, u.service.name, u.replica);
    const why = cause(u);
    if (!why) continue;
    const gate = u.service.startsAfter === 'started' ? started : healthy;
    const deps = dependencyUnits(u, desired, stack.name)
      .map((d) => gate.get(d))
      .filter((x): x is string => x !== undefined);
    const vols = u.service.volumes
      .map((m) => volumeSteps.get(m.volume))
      .filter((x): x is string => x !== undefined);
    const old = removed.get(name);
    const run = add({
      after: [...net, ...vols, ...deps, ...(old ? [old] : [])],
      kind: 'run',
      unit: u,
      cause: why,
    });
    started.set(name, run);
    healthy.set(
      name,
      add({
        after: [run],
        kind: 'wait-healthy',
        unit: name,
        ...(u.service.health ? { probe: readinessProbe(u.service.health) } : {}),
        cause: 'the deploy ends healthy',
      }),
    );
  }
  const unchanged = [...wanted].filter((n) => !healthy.has(n));
  return { stack: stack.name, steps, unchanged, edge: [] };
}

/** The part of a health check odp probes with while a deploy waits. */
export function readinessProbe(h: NonNullable<Service['health']>): ReadinessProbe {
  return {
    ...(h.http ? { http: h.http } : {}),
    ...(h.command ? { command: h.command } : {}),
    timeoutSeconds: h.timeoutSeconds,
  };
}

function describeChange(o: ObservedUnit, u: UnitSpec, imageIds: Readonly<Record<string, string>>): string {
  if (o.image !== u.service.image) return `image ${o.image} → ${u.service.image}`;
  if (imageIds[u.service.image] && o.imageId !== imageIds[u.service.image])
    return `new image behind ${u.service.image}`;
  if (u.sharesNetworkWithUnit) return `follows ${u.sharesNetworkWithUnit}, or its configuration changed`;
  return 'configuration changed';
}

function published(p: Service['ports'][number]): PublishedPort {
  return { container: p.container, host: p.published ?? 0, ip: p.hostIp ?? '127.0.0.1' };
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name.localeCompare(b.name);
}

/** The units a unit must wait for: its service's dependsOn (same replica for sidecars). */
function dependencyUnits(u: UnitSpec, all: UnitSpec[], stack: string): string[] {
  const deps = new Set(u.service.dependsOn);
  return all
    .filter((d) => deps.has(d.service.name))
    .filter(
      (d) =>
        !u.sharesNetworkWithUnit || d.service.name !== u.service.sharesNetworkWith || d.replica === u.replica,
    )
    .map((d) => unitName(stack, d.service.name, d.replica));
}

function orderByDependencies(units: UnitSpec[]): UnitSpec[] {
  const done = new Set<string>();
  const out: UnitSpec[] = [];
  const services = new Map<string, Service>(units.map((u) => [u.service.name, u.service]));
  const visit = (s: Service, path: string[]) => {
    if (done.has(s.name)) return;
    if (path.includes(s.name)) throw new Error(`dependency cycle: ${[...path, s.name].join(' → ')}`);
    for (const d of s.dependsOn) {
      const dep = services.get(d);
      if (dep) visit(dep, [...path, s.name]);
    }
    done.add(s.name);
    out.push(...units.filter((u) => u.service.name === s.name));
  };
  for (const u of units) visit(u.service, []);
  return out;
}

/** The unit, network or volume a step is about: its id's subject. */
export function stepSubject(s: Step): string {
  if (s.kind === 'run') return unitName(s.unit.stack, s.unit.service.name, s.unit.replica);
  return 'name' in s ? s.name : s.unit;
}

/** One line per step, the dry run's output and the tests' view of a plan. */
export function formatPlan(plan: Plan): string {
  const nothing = `${plan.stack}: nothing to do (${plan.unchanged.length} units up to date)`;
  const all: (Step | EdgeStep)[] = [...plan.steps, ...plan.edge];
  if (all.length === 0) return nothing;
  const lines = formatSteps(all, (s) =>
    s.kind === 'run'
      ? `${stepSubject(s)} (${s.unit.service.image})`
      : isStackStep(s)
        ? stepSubject(s)
        : edgeStepSubject(s),
  );
  const kept = plan.unchanged.length ? [`unchanged: ${plan.unchanged.join(', ')}`] : [];
  const head = plan.steps.length ? `${plan.stack}: ${all.length} steps` : `${nothing}; ${all.length} steps`;
  return [head, ...lines, ...kept].join('\n');
}

/** Every step, the stack's then the edge's, as `--json` and the history show them (no unit's whole specification). */
export function planSteps(plan: Plan): PlanStep[] {
  return [...plan.steps, ...plan.edge].map(stepSummary);
}

const stackKinds: ReadonlySet<string> = new Set<Step['kind']>([
  'create-network',
  'create-volume',
  'remove-volume',
  'remove',
  'run',
  'wait-healthy',
]);

export function isStackStep(s: PlanStep): s is Step {
  return stackKinds.has(s.kind);
}
