// `odp db reset PROJECT integration`: the original document's manual flow
// ("drop the database and recreate an empty one" with `docker exec … psql -c
// "DROP DATABASE …"`) made safe, as a plan (plan/data-plans.ts) that --dry-run
// prints and the shared executor runs. The instance's units are stopped while
// it happens and started again afterwards, even when it fails; open sessions
// are terminated; the new database is owned by the instance's role, with
// CONNECT revoked from everybody else, exactly as `odp provision` makes it.
// Only on the integration server: prod is never reset, and test's database is
// its own container, rebuilt by `odp deploy PROJECT test`.
import { resolveInstance, stackName, type ResolvedInstance } from '../../compose/instance.js';
import type { PgClient } from '../../backends/postgres/index.js';
import type { Engine } from '../../engines/engine.js';
import { isOdpError, OdpError } from '../../errors.js';
import type { DataPlan } from '../../plan/data-ops.js';
import { planReset } from '../../plan/data-plans.js';
import { loadPlatformDir, requireProject, type PlatformDir } from '../../platformdir/load.js';
import { lockedUnlessDryRun } from '../../state/lock.js';
import { runDataPlan, unexpectedStep, unstartedError, type DataOpOptions } from '../run-data-plan.js';
import { platformSecrets } from '../secrets/platform-secrets.js';
import { requireInstanceName } from '../../platform-spec/instance-names.js';
import {
  connectAdmin,
  createDatabase,
  databaseExists,
  dropDatabase,
  requireRole,
  runningUnits,
  tierServer,
} from './db-server.js';

export interface ResetResult {
  project: string;
  instance: 'integration';
  server: string;
  database: string;
  role: string;
  /** Whether there was a database to drop. */
  existed: boolean;
  /** Sessions that were still open on it, terminated. */
  terminated: number;
  /** The instance's units stopped for the reset, and those started again. */
  stopped: string[];
  restarted: string[];
}

/** Refuses, before anything is asked or touched, what `db reset` never does. */
export function assertResettable(project: string, instance: string): asserts instance is 'integration' {
  const inst = requireInstanceName(instance);
  if (inst === 'prod') {
    throw new OdpError('USAGE', `refusing to reset the prod database of ${project}: prod is never reset`, {
      hint: `To try a release on the customer's data, use integration: odp db clone ${project} --from prod --to integration`,
    });
  }
  if (inst === 'test') {
    throw new OdpError(
      'USAGE',
      `the test database of ${project} is its own container: nothing to reset here`,
      {
        hint: `odp deploy ${project} test rebuilds the test instance with a fresh database.`,
      },
    );
  }
}

export type ResetOptions = DataOpOptions;

/** The plan of a reset, the lock held unless it is a dry run; `body` gets it with the open session. */
async function withResetPlan<T>(
  engine: Engine,
  dir: string,
  projectName: string,
  instance: string,
  o: ResetOptions & { dryRun?: boolean },
  body: (plan: DataPlan, admin: PgClient, inst: ResolvedInstance) => Promise<T>,
): Promise<T> {
  assertResettable(projectName, instance);
  const pd = await loadPlatformDir(dir);
  const inst = resolveInstance(pd.platform, requireProject(pd, projectName).spec, instance);
  const platform = await platformSecrets(dir, { passphraseFile: o.passphraseFile, generate: false });
  const server = await tierServer(engine, pd, 'integration', platform.values);
  return lockedUnlessDryRun(dir, `${projectName}-${instance}`, o, async () => {
    const admin = await connectAdmin(server);
    try {
      await requireRole(admin, inst.dbUser, projectName, 'integration');
      const plan = planReset({
        project: projectName,
        instance,
        target: { server: server.service, database: inst.database },
        role: inst.dbUser,
        exists: await databaseExists(admin, inst.database),
        running: await runningUnits(engine, pd, projectName, instance),
      });
      return await body(plan, admin, inst);
    } finally {
      await admin.end().catch(() => undefined);
    }
  });
}

/** What `odp db reset` would do (its --dry-run): reads only, takes no lock. */
export function resetPlan(
  engine: Engine,
  dir: string,
  projectName: string,
  instance: string,
  o: ResetOptions,
): Promise<DataPlan> {
  return withResetPlan(engine, dir, projectName, instance, { ...o, dryRun: true }, async (plan) => plan);
}

export function resetDatabase(
  engine: Engine,
  dir: string,
  projectName: string,
  instance: string,
  o: ResetOptions,
): Promise<ResetResult> {
  return withResetPlan(engine, dir, projectName, instance, o, async (plan, admin, inst) => {
    o.annotate?.({ plan });
    o.onPlan?.(plan);
    let terminated = 0;
    const run = await runDataPlan(
      plan,
      async (s) => {
        if (s.kind === 'drop-database') terminated = await dropDatabase(admin, s.database);
        else if (s.kind === 'create-database') await createDatabase(admin, s.database, s.owner);
        else throw unexpectedStep(plan, s);
      },
      { engine, progress: o.progress },
    );
    // The units were started again whatever happened: a failed reset leaves the instance as it was.
    if (run.failure) throw run.failure.error;
    const unstarted = unstartedError(run, `${plan.target.database} was reset`, projectName);
    if (unstarted) throw unstarted;
    return {
      project: projectName,
      instance: 'integration' as const,
      server: plan.target.server,
      database: plan.target.database,
      role: inst.dbUser,
      existed: plan.steps.some((s) => s.kind === 'drop-database'),
      terminated,
      stopped: run.stopped,
      restarted: run.started,
    };
  });
}

/** The stack name users type to confirm (`<project>-odoo-integration`). */
export function confirmName(pd: PlatformDir, project: string, instance: 'integration'): string {
  return stackName(requireProject(pd, project).spec, instance);
}

/** Re-raises `e` with `extra` added to its hint (an OdpError's fields are fixed). */
export function withHint(e: unknown, extra: string): OdpError {
  if (!isOdpError(e)) {
    return new OdpError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e, hint: extra });
  }
  return new OdpError(e.code, e.message, {
    cause: e,
    problems: e.problems,
    ...(e.detail !== undefined ? { detail: e.detail } : {}),
    hint: e.hint ? `${e.hint} ${extra}` : extra,
  });
}
