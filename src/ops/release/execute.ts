// Runs a release plan (plan/release.ts) or a settlement (plan/settle.ts) on the
// engine with the shared executor. Each step is reported with its kind and id,
// which the history records; when a step fails before the edge routed the new
// release, the same settle() that recovers a killed odp decides the undo, and it
// runs here too: one way back, tested once (docs/decisions/0058).
import type { Engine, ReadinessProbe, UnitSpec } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import type { PlatformDir } from '../../platformdir/load.js';
import { readinessProbe } from '../../plan/plan.js';
import { stepSubject, type ReleasePlan, type ReleaseStep, type Role } from '../../plan/release-steps.js';
import { settle } from '../../plan/settle.js';
import type { Progress } from '../../progress.js';
import type { Annotations } from '../../state/history.js';
import { clearMaintenance, maintenanceEntries, setMaintenance } from '../../state/maintenance.js';
import { setServing } from '../../state/serving.js';
import { backupInstance } from '../backup/backup.js';
import { restoreInstance } from '../backup/backup-restore.js';
import type { EdgeControl } from '../edge/edge-sync.js';
import { runPlan } from '../run-plan.js';
import { writeVersion } from './upgrade-version.js';
import { switchEdge } from './edge-switch.js';

/** The deploy health deadline when none is given (`--health-timeout`). */
export const DEFAULT_HEALTH_TIMEOUT_MS = 10 * 60_000;

export interface ReleaseOptions {
  progress: Progress;
  healthTimeoutMs?: number;
  edge?: EdgeControl;
  passphraseFile?: string;
  /** Records what the operation learns (its restore point, its plan) in its history entry. */
  annotate?: (a: Annotations) => void;
}

/** What steps need besides their own data. */
export interface ReleaseRuntime {
  engine: Engine;
  pd: PlatformDir;
  plan: ReleasePlan;
  /** The release's units by name, and its migration job. */
  units: Map<string, UnitSpec>;
  job?: UnitSpec;
  labels: Record<string, string>;
  /** The backup taken by this operation (or the interrupted one being settled). */
  restorePoint?: string;
}

export function describe(s: ReleaseStep): string {
  return `${s.kind} ${stepSubject(s)}`;
}

/**
 * Runs the plan's steps, recording each by kind and id (prefixed: `undo/` for
 * the undo of this run, `settle/` for settling another). On a failure before the
 * commit point the operation is undone, then the error is thrown with what the
 * undo did.
 */
export async function executeRelease(
  rt: ReleaseRuntime,
  steps: ReleaseStep[],
  o: ReleaseOptions,
  prefix = '',
): Promise<void> {
  const { failure, outcomes: recorded } = await runPlan(steps, (s) => executeStep(rt, s, o, prefix), {
    progress: o.progress,
    describe,
    prefix,
  });
  if (!failure) return;
  const base = failure.error instanceof OdpError ? failure.error : undefined;
  const message =
    base?.message ?? (failure.error instanceof Error ? failure.error.message : String(failure.error));
  const after: string[] = [];
  if (prefix === '') {
    const observed = await rt.engine.observe({
      platform: rt.pd.platform.name,
      project: rt.plan.project,
      instance: rt.plan.instance,
    });
    const s = settle({ plan: rt.plan, recorded, observed: observed.units, restorePoint: rt.restorePoint });
    if (s.action === 'undo') {
      o.progress.note(`undoing: putting ${rt.plan.project}/${rt.plan.instance} back as it was`);
      try {
        await executeRelease(rt, s.steps, o, 'undo/');
        after.push(`Undone: ${s.steps.map(describe).join('; ')}.`);
      } catch (e) {
        after.push(`The undo did not finish: ${e instanceof Error ? e.message : String(e)}`);
        if (rt.restorePoint) {
          after.push(
            `If the database was not restored: odp restore ${rt.plan.project} ${rt.plan.instance} ${rt.restorePoint}`,
          );
        }
      }
    } else if (s.action === 'complete') {
      after.push('The new release serves; the next deploy finishes what is left (removing the old units).');
    }
  }
  throw new OdpError(
    'DEPLOY_FAILED',
    `${rt.plan.project}/${rt.plan.instance}: ${failure.step.kind} failed: ${message}`,
    {
      cause: failure.error,
      detail: [base?.detail ?? '', ...after].join('\n').trim(),
      hint: `odp history ${rt.plan.project} ${rt.plan.instance} shows each step.`,
    },
  );
}

function probe(rt: ReleaseRuntime, unit: string, role: Role): ReadinessProbe | undefined {
  const spec = rt.units.get(unit) ?? [...rt.units.values()].find((u) => u.service.role === role);
  return spec?.service.health ? readinessProbe(spec.service.health) : undefined;
}

async function executeStep(
  rt: ReleaseRuntime,
  s: ReleaseStep,
  o: ReleaseOptions,
  prefix: string,
): Promise<void> {
  const { engine, pd, plan } = rt;
  const common = {
    locked: true,
    progress: o.progress,
    ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
  };
  switch (s.kind) {
    case 'take-restore-point': {
      rt.restorePoint = await backupInstance(engine, pd.dir, plan.project, plan.instance, common);
      o.annotate?.({ backupId: rt.restorePoint });
      return;
    }
    case 'create-network':
      return engine.ensureNetwork(s.network, rt.labels);
    case 'create-unit':
      await engine.create(unitSpec(rt, s.unit));
      return;
    case 'start-unit': {
      if (s.created) return engine.start(s.unit);
      const spec = unitSpec(rt, s.unit);
      await engine.remove(s.unit); // what an attempt killed before it was healthy left
      await engine.run(spec);
      return;
    }
    case 'create-job': {
      if (!rt.job) throw new OdpError('INTERNAL', `${rt.plan.stack} has no migration job`);
      await engine.remove(s.job); // one an interrupted attempt left (it may still run)
      await engine.createTask(rt.job, ['migrate']);
      return;
    }
    case 'wait-healthy':
      return engine.waitReady(s.unit, probe(rt, s.unit, s.role), {
        timeoutMs: o.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS,
        onWait: (d) => o.progress.note(d),
      });
    case 'enter-maintenance':
      // The state first: any later rendering of the edge keeps the site in maintenance.
      setMaintenance(pd.dir, { domain: s.domain, project: plan.project, instance: plan.instance });
      if (o.edge && (await o.edge.running(pd))) await o.edge.maintenance(pd, s.domain, true);
      return;
    case 'stop-unit':
      return engine.stop(s.unit, 30);
    case 'resume-unit':
      return engine.start(s.unit);
    case 'remove-unit':
      return engine.remove(s.unit); // nginx: SIGQUIT, the requests in flight end first
    case 'run-migration':
      return runMigration(engine, s.job);
    case 'restore-database': {
      const id = s.backup || rt.restorePoint;
      if (!id) throw new OdpError('INTERNAL', 'no restore point to restore the database from');
      // The restore's own steps are recorded under this one's id: `restore-database:…/swap-database:…`.
      await restoreInstance(engine, pd.dir, plan.project, plan.instance, id, {
        ...common,
        stepPrefix: `${prefix}${s.id}/`,
      });
      return;
    }
    case 'route-edge': {
      // Recorded first: any later rendering of the edge routes here too.
      setServing(pd.dir, plan.project, plan.instance, s.servers);
      if (!o.edge || !(await o.edge.running(pd))) return;
      // In a maintenance window the edges' files are written when it ends (leave-maintenance).
      await switchEdge(engine, o.edge, pd, s.domain, s.servers, { persist: !inMaintenance(pd, s.domain) });
      return waitRouted(rt, s.domain, o);
    }
    case 'leave-maintenance':
      clearMaintenance(pd.dir, s.domain);
      if (!o.edge || !(await o.edge.running(pd))) return;
      await o.edge.maintenance(pd, s.domain, false);
      await waitRouted(rt, s.domain, o);
      // Out of the window: the edges' files route as the running edges do, for their next start.
      return o.edge.persist(pd);
    case 'drain':
      return new Promise((res) => setTimeout(res, s.seconds * 1000));
    case 'record-version':
      return writeVersion(pd.dir, plan.project, plan.instance, s.version);
  }
}

const inMaintenance = (pd: PlatformDir, domain: string): boolean =>
  maintenanceEntries(pd.dir).some((m) => m.domain === domain);

/** Outside maintenance, a route is switched once the edge answers for the domain. */
async function waitRouted(rt: ReleaseRuntime, domain: string, o: ReleaseOptions): Promise<void> {
  if (inMaintenance(rt.pd, domain)) return;
  if (!(await o.edge!.waitRouted(rt.pd, domain, 60_000))) {
    throw new OdpError('DEPLOY_FAILED', `the edge does not route ${domain}`);
  }
}

/** The migration: the job made by create-job, run to its end; a non-zero exit is an error with its output. */
async function runMigration(engine: Engine, job: string): Promise<void> {
  const r = await engine.startTask(job);
  if (r.exitCode !== 0) {
    throw new OdpError('DEPLOY_FAILED', `the migration failed (exit ${r.exitCode})`, {
      detail: r.output.trim().split('\n').slice(-40).join('\n'),
    });
  }
}

function unitSpec(rt: ReleaseRuntime, unit: string): UnitSpec {
  const spec = rt.units.get(unit);
  if (!spec) throw new OdpError('INTERNAL', `no unit ${unit} in the release`);
  return spec;
}
