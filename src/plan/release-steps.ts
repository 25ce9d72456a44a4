// The steps of a release plan (release.ts), their builders and how a person
// reads them: shared by the planner, settle() and the executor. Pure.

import { formatSteps, type PlanStep } from './step.js';

export type Role = 'odoo' | 'nginx';

type StepBase = Omit<PlanStep, 'kind'>;

export type ReleaseStep = StepBase &
  (
    | { kind: 'take-restore-point' }
    | { kind: 'create-network'; network: string }
    /** Made before a maintenance window, so that the window only starts it. */
    | { kind: 'create-unit'; unit: string; role: Role; replica: number; release: string; image: string }
    /** `created`: made by a create-unit step of the plan, only started here. */
    | {
        kind: 'start-unit';
        unit: string;
        role: Role;
        replica: number;
        release: string;
        image: string;
        created?: true;
      }
    /** The migration's one-off unit, made ahead like the release's units. */
    | { kind: 'create-job'; job: string; image: string }
    | { kind: 'wait-healthy'; unit: string; role: Role }
    | { kind: 'enter-maintenance'; domain: string }
    | { kind: 'stop-unit'; unit: string; role: Role }
    | { kind: 'run-migration'; job: string; image: string; versions: string[] }
    /** `backup`: a backup id; empty for the restore point this operation took. */
    | { kind: 'restore-database'; backup: string }
    /** `previous`: what the edge routed to before, where an undo sends it back. */
    | { kind: 'route-edge'; domain: string; servers: string[]; previous: string[] }
    | { kind: 'leave-maintenance'; domain: string }
    | { kind: 'drain'; seconds: number }
    | { kind: 'remove-unit'; unit: string }
    | { kind: 'resume-unit'; unit: string; role: Role }
    | { kind: 'record-version'; version: string }
  );

export type StepKind = ReleaseStep['kind'];

/** How the plan changes the instance. */
export type Flow =
  /** Nothing to do. */
  | 'up-to-date'
  /** New units beside the old ones, the edge switches, the old ones drain: no downtime. */
  | 'rolling'
  /** The database changes under running users: a restore point, then a maintenance window. */
  | 'maintenance';

export interface ReleasePlan {
  project: string;
  instance: string;
  stack: string;
  domain: string;
  version: string;
  release: string;
  flow: Flow;
  steps: ReleaseStep[];
}

/** A unit of the release made (`create-unit`) or started (`start-unit`); `created`: the plan made it first. */
export function unitStep(
  kind: 'create-unit' | 'start-unit',
  u: { name: string; image: string },
  at: { role: Role; replica: number; release: string },
  after: string[],
  cause: string,
  created = false,
): ReleaseStep {
  const base = { id: `${kind}:${u.name}`, unit: u.name, ...at, image: u.image, cause, after };
  return kind === 'create-unit'
    ? { ...base, kind }
    : { ...base, kind, ...(created ? { created: true as const } : {}) };
}

/** A unit serves only once healthy: the step every start (and restart) is followed by. */
export function waitStep(unit: string, role: Role, after: string[]): ReleaseStep {
  return {
    id: `wait-healthy:${unit}`,
    kind: 'wait-healthy',
    unit,
    role,
    cause: 'serves only once healthy',
    after,
  };
}

export function removeStep(unit: string, cause: string, after: string[]): ReleaseStep {
  return { id: `remove-unit:${unit}`, kind: 'remove-unit', unit, cause, after };
}

/** The step's subject, as a person reads it. */
export function stepSubject(s: ReleaseStep): string {
  switch (s.kind) {
    case 'start-unit':
    case 'create-unit':
      return `${s.unit} (${s.image})`;
    case 'create-job':
      return `${s.job} (${s.image})`;
    case 'run-migration':
      return `${s.versions.join(', ')} in ${s.job} (${s.image})`;
    case 'restore-database':
      return s.backup ? `from backup ${s.backup}` : 'from the restore point';
    case 'route-edge':
      return `${s.domain} → ${s.servers.join(', ') || 'nothing'}`;
    case 'drain':
      return `${s.seconds} s`;
    case 'take-restore-point':
      return 'backup of the database and attachments';
    case 'create-network':
      return s.network;
    case 'enter-maintenance':
    case 'leave-maintenance':
      return s.domain;
    case 'record-version':
      return s.version;
    default:
      return s.unit;
  }
}

/** One line per step: the dry run's output. */
export function formatReleasePlan(p: ReleasePlan): string {
  const head = `${p.project}/${p.instance} (${p.stack}) → ${p.version}, release ${p.release}: ${p.flow}`;
  if (p.steps.length === 0) return `${head}\n  nothing to do`;
  return [head, ...formatSteps(p.steps, stepSubject)].join('\n');
}
