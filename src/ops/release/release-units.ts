// The units of a pinned instance's release, from the stack's desired units:
// their release-carrying names, the pairs the plan starts, the migration job,
// and what the plan does per replica, summed up for people (docs/decisions/0058).
import { LABEL, type ObservedUnit, type UnitSpec } from '../../engines/engine.js';
import { unitName } from '../../model/stack.js';
import type { ReleaseFacts } from '../../plan/release.js';
import type { ReleasePlan } from '../../plan/release-steps.js';

export interface ReplicaChange {
  replica: number;
  /** The release's odoo unit, `<stack>-odoo-<release>-<n>` (and its sidecar `<stack>-nginx-<release>-<n>`). */
  unit: string;
  action: 'start' | 'replace' | 'unchanged' | 'remove';
  /** The image it runs now, if it runs. */
  from?: string;
  cause: string;
}

/** The release's odoo and nginx units carry its id in their names (docs/decisions/0058). */
export function withRelease(units: UnitSpec[], release: string): UnitSpec[] {
  return units.map((u) => {
    if (u.service.role !== 'odoo' && u.service.role !== 'nginx') return u;
    const owner = u.sharesNetworkWithUnit
      ? units.find((x) => x.service.role === 'odoo' && x.replica === u.replica)
      : undefined;
    return {
      ...u,
      release,
      ...(owner ? { sharesNetworkWithUnit: unitName(u.stack, owner.service.name, u.replica, release) } : {}),
    };
  });
}

export function pairs(units: UnitSpec[]): ReleaseFacts['pairs'] {
  const ref = (u: UnitSpec) => ({
    name: unitName(u.stack, u.service.name, u.replica, u.release),
    image: u.service.image,
    configHash: u.configHash,
  });
  return units
    .filter((u) => u.service.role === 'odoo')
    .flatMap((odoo) => {
      const nginx = units.find((n) => n.service.role === 'nginx' && n.replica === odoo.replica);
      return nginx ? [{ replica: odoo.replica, odoo: ref(odoo), nginx: ref(nginx) }] : [];
    });
}

/** The migration: a job of the new image, like replica 1 without its health check or ports. */
export function migrationJob(units: UnitSpec[], release: string): UnitSpec | undefined {
  const odoo = units.find((u) => u.service.role === 'odoo' && u.replica === 1);
  if (!odoo) return undefined;
  const env = new Map([...odoo.service.env].filter(([k]) => k !== 'MIGRATE'));
  const { health: _health, ...service } = odoo.service;
  return {
    ...odoo,
    release,
    publish: [],
    service: { ...service, name: 'migrate', env, labels: { ...service.labels, [LABEL.service]: 'migrate' } },
  };
}

/** Per replica, what the plan does to it: for the summary people read. */
export function replicaSummary(rp: ReleasePlan, observed: ObservedUnit[]): ReplicaChange[] {
  const starts = rp.steps.filter((s) => s.kind === 'start-unit' && s.role === 'odoo');
  const out: ReplicaChange[] = [];
  const oldOdoo = observed.filter((u) => u.service === 'odoo');
  for (const s of starts) {
    if (s.kind !== 'start-unit') continue;
    const was = oldOdoo.find((u) => u.replica === s.replica && u.name !== s.unit);
    out.push({
      replica: s.replica,
      unit: s.unit,
      action: was ? 'replace' : 'start',
      ...(was ? { from: was.image } : {}),
      cause: s.cause,
    });
  }
  const started = new Set(out.map((r) => r.replica));
  const removed = new Set(
    rp.steps.filter((s) => s.kind === 'remove-unit').map((s) => (s.kind === 'remove-unit' ? s.unit : '')),
  );
  for (const u of oldOdoo) {
    if (started.has(u.replica) || out.some((r) => r.unit === u.name)) continue;
    out.push({
      replica: u.replica,
      unit: u.name,
      action: removed.has(u.name) ? 'remove' : 'unchanged',
      from: u.image,
      cause: removed.has(u.name) ? 'no longer in the spec' : 'up to date',
    });
  }
  return out.sort((a, b) => a.replica - b.replica);
}
