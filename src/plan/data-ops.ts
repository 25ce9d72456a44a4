// Operations that replace an instance's data: `odp restore`, `odp db reset` and
// `odp db clone`. What they share: their typed steps, the units stopped around
// the change and started again after it, and how a plan reads. The planners are
// in data-plans.ts. Pure (docs/decisions/0058, 0059).
//
// Every such plan ends with the `start-unit` steps of the units it stopped. The
// executor (ops/run-data-plan.ts) runs them after a failure too, for the units
// that were stopped, so the previous data serves again; a plan with
// `keepStoppedFrom` says from which step on the data is unfinished and must not
// serve: once that step began, a failure leaves the units stopped.
import { createHash } from 'node:crypto';
import { formatSteps, StepList, type OperationPlan, type PlanStep } from './step.js';

type StepBase = Omit<PlanStep, 'kind'>;

/** A database on a tier's PostgreSQL server (`postgres-prod`, `postgres-integration`). */
export interface DatabaseRef {
  server: string;
  database: string;
}

export type DataStep = StepBase &
  (
    | { kind: 'stop-unit'; unit: string; service: string }
    | { kind: 'start-unit'; unit: string; service: string }
    /** `from`: a bucket and prefix; `missingOnly`: objects `to` has are left alone. */
    | { kind: 'copy-attachments'; from: string; to: string; objects: number | null; missingOnly: boolean }
    /** `keepOnFailure`: the operation succeeds without it, the database kept under its name. */
    | ({ kind: 'drop-database'; keepOnFailure: boolean } & DatabaseRef)
    /** Owned by `owner`, CONNECT revoked from PUBLIC and granted to the owner. */
    | ({ kind: 'create-database'; owner: string } & DatabaseRef)
    /** pg_restore of a backup's dump as `role`, its bytes checked against the manifest. */
    | ({ kind: 'restore-dump'; backup: string; bytes: number; role: string } & DatabaseRef)
    /** pg_dump of `from` streamed into pg_restore (one transaction) as `role`. */
    | { kind: 'copy-database'; from: DatabaseRef; to: DatabaseRef; role: string }
    /** `database` renamed to `replaced` (none: it does not exist) and `scratch` to `database`, at once. */
    | ({ kind: 'swap-database'; scratch: string; replaced: string | null } & DatabaseRef)
    | ({ kind: 'neutralize'; domain: string } & DatabaseRef)
    | ({ kind: 'verify-neutralized' } & DatabaseRef)
  );

export type DataStepKind = DataStep['kind'];

export interface DataPlan extends OperationPlan<DataStep> {
  operation: 'restore' | 'db-reset' | 'db-clone';
  /** The database the operation replaces. */
  target: DatabaseRef;
  /** Where the new data comes from, for people; null: nowhere (an empty database). */
  source: string | null;
  /** Once this step began, a failure leaves the units stopped; null: they start again whatever happens. */
  keepStoppedFrom: string | null;
}

/** A unit of the instance that runs now. */
export interface RunningUnit {
  name: string;
  service: string;
}

/** Scratch names are the database's, hashed: the same in the dry run and the run, and ours to drop. */
function nameFor(prefix: string, database: string, suffix = ''): string {
  const h = createHash('sha256').update(database).digest('hex').slice(0, 10);
  return `${prefix}_${h}${suffix}`;
}

/** Where a restore puts the dump until it replaces `database`. */
export function scratchName(database: string): string {
  return nameFor('odp_restore', database);
}

/** Where a restore drill restores `database`'s backup: dropped once checked, never swapped in. */
export function drillName(database: string): string {
  return nameFor('odp_drill', database);
}

/** The name the database replaced by a restore of `backup` gets until it is dropped. */
export function replacedName(database: string, backup: string): string {
  return nameFor('odp_replaced', database, `_${backup.toLowerCase()}`);
}

/** Sidecars first: one lives in its Odoo's network namespace. */
function stopOrder(units: readonly RunningUnit[]): RunningUnit[] {
  return [...units].sort(
    (a, b) => Number(b.service !== 'odoo') - Number(a.service !== 'odoo') || a.name.localeCompare(b.name),
  );
}

/** One `stop-unit` step per running unit, one after the other; returns them in the order stopped. */
export function stopUnits(
  list: StepList<DataStep>,
  units: readonly RunningUnit[],
  why: string,
): RunningUnit[] {
  const order = stopOrder(units);
  for (const u of order) {
    list.add({
      id: `stop-unit:${u.name}`,
      kind: 'stop-unit',
      unit: u.name,
      service: u.service,
      cause: u.service === 'odoo' ? why : 'a sidecar: it goes before the Odoo whose network it shares',
    });
  }
  return order;
}

/** The units `stopUnits` stopped started again, owners before their sidecars. */
export function startUnits(list: StepList<DataStep>, stopped: readonly RunningUnit[], why: string): void {
  for (const u of [...stopped].reverse()) {
    list.add({
      id: `start-unit:${u.name}`,
      kind: 'start-unit',
      unit: u.name,
      service: u.service,
      cause: why,
    });
  }
}

const on = (d: DatabaseRef) => `${d.database} on ${d.server}`;

/** The step's subject, as a person reads it. */
export function dataStepSubject(s: DataStep): string {
  switch (s.kind) {
    case 'stop-unit':
    case 'start-unit':
      return s.unit;
    case 'copy-attachments':
      return `${s.objects === null ? '' : `${s.objects} objects `}${s.from} → ${s.to}`;
    case 'create-database':
      return `${on(s)}, owned by ${s.owner}`;
    case 'restore-dump':
      return `backup ${s.backup} into ${on(s)}, as ${s.role}`;
    case 'copy-database':
      return `${on(s.from)} → ${on(s.to)}, as ${s.role}`;
    case 'swap-database':
      return `${s.scratch} → ${s.database}${s.replaced ? ` (${s.database} → ${s.replaced})` : ''}`;
    default:
      return on(s);
  }
}

export function describeDataStep(s: DataStep): string {
  return `${s.kind} ${dataStepSubject(s)}`;
}

/** The dry run's output: a heading, then one line per step. */
export function formatDataPlan(p: DataPlan): string {
  const from = p.source ? ` from ${p.source}` : '';
  const head = `${p.project}/${p.instance}: ${p.operation} of ${on(p.target)}${from}`;
  return [head, ...formatSteps(p.steps, dataStepSubject)].join('\n');
}
