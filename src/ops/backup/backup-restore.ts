// `odp restore PROJECT INSTANCE BACKUP`: the instance's database and attachments
// back to what a backup holds, as a plan (plan/data-plans.ts) that --dry-run
// prints and the shared executor runs. The dump is restored into a scratch
// database first (pg_restore inside the tier's PostgreSQL container, fed by
// streaming the dump into its standard input); only once it restored whole,
// and its bytes match the manifest's SHA-256, is it swapped in for the
// instance's database in one transaction. A failure before that leaves the
// database as it was. Missing attachment objects are copied back before, which
// harms nothing: objects are content-addressed and only absent ones are added.
// The instance's Odoo units are stopped meanwhile, and started again at the
// end, whatever happened.
import { quoteIdent, type PgClient } from '../../backends/postgres/index.js';
import type { Bucket } from '../../backends/s3/bucket.js';
import type { Engine } from '../../engines/engine.js';
import { OdpError, isOdpError } from '../../errors.js';
import type { DataPlan, DataStep } from '../../plan/data-ops.js';
import { planRestore } from '../../plan/data-plans.js';
import { withInstanceLock } from '../../state/lock.js';
import { createDatabase, databaseExists, runningUnits } from '../db/db-server.js';
import {
  runDataPlan,
  unexpectedStep,
  unstartedError,
  type DataOpOptions,
  type DataPlanRun,
} from '../run-data-plan.js';
import {
  BACKUP_ID,
  instanceBucket,
  openBackups,
  stepError,
  superuserConnection,
  superuserPassword,
  type BackupLocation,
  type BackupManifest,
} from './backup.js';
import { copyMissing, streamRestore, swap } from './restore-steps.js';

export interface RestoreResult {
  id: string;
  project: string;
  instance: string;
  database: string;
  dumpBytes: number;
  /** Attachment objects the instance's bucket lacked, copied back. */
  attachmentsCopied: number;
  /** Units stopped for the restore and started again. */
  restarted: string[];
  /** Set when the replaced database could not be dropped: it is kept under this name. */
  previousDatabaseKept?: string;
}

export interface RestoreOptions extends DataOpOptions {
  /** The caller holds the instance's lock already (a release restoring its restore point). */
  locked?: boolean;
  /** Put before each step's id in the history: a restore run as one step of another operation. */
  stepPrefix?: string;
}

/** What the restore's steps use. */
interface RestoreRuntime {
  loc: BackupLocation;
  /** The instance's attachments bucket. */
  target: Bucket;
  manifest: BackupManifest;
  admin: PgClient;
}

/**
 * The plan of a restore of backup `id`, the lock held unless it is a dry run
 * (or the caller holds it); `body` gets it with what its steps use. The backup
 * and the role are checked first: nothing changes when either is wrong.
 */
async function withRestorePlan<T>(
  engine: Engine,
  dir: string,
  project: string,
  instance: string,
  id: string,
  o: RestoreOptions & { dryRun?: boolean },
  body: (plan: DataPlan, rt: RestoreRuntime) => Promise<T>,
): Promise<T> {
  if (!BACKUP_ID.test(id)) {
    throw new OdpError('USAGE', `"${id}" is not a backup id (they look like 20260223T101502Z)`, {
      hint: `odp backups ${project} ${instance} lists them.`,
    });
  }
  const loc = await openBackups(dir, project, instance, {
    passphraseFile: o.passphraseFile,
    what: 'restore',
  });
  const target = await instanceBucket(loc, dir, o);
  try {
    superuserPassword(loc);
    const manifest = await readManifest(loc, id);
    await engine.ping();
    const planned = async () => {
      const admin = await openAdmin(engine, loc, manifest.id);
      try {
        const plan = planRestore({
          project,
          instance: loc.instance,
          target: { server: `postgres-${loc.instance}`, database: loc.inst.database },
          role: loc.inst.dbUser,
          exists: await databaseExists(admin, loc.inst.database),
          running: await runningUnits(engine, loc.pd, project, loc.instance),
          backup: {
            id: manifest.id,
            bytes: manifest.dump.bytes,
            objects: manifest.attachments.objects,
            attachments: `${loc.bucket.name}/${loc.prefix}${manifest.id}/attachments/`,
          },
          bucket: target.name,
        });
        return await body(plan, { loc, target, manifest, admin });
      } finally {
        await admin.end().catch(() => undefined);
      }
    };
    if (o.locked || o.dryRun) return await planned();
    return await withInstanceLock(
      dir,
      `${project}-${loc.instance}`,
      { wait: true, onWait: (h) => o.progress.note(`waiting for ${h}`) },
      planned,
    );
  } finally {
    loc.bucket.close();
    target.close();
  }
}

/** What `odp restore` would do (its --dry-run): reads the backup's manifest and what runs, takes no lock. */
export function restorePlan(
  engine: Engine,
  dir: string,
  project: string,
  instance: string,
  id: string,
  o: RestoreOptions,
): Promise<DataPlan> {
  return withRestorePlan(engine, dir, project, instance, id, { ...o, dryRun: true }, async (plan) => plan);
}

export function restoreInstance(
  engine: Engine,
  dir: string,
  project: string,
  instance: string,
  id: string,
  o: RestoreOptions,
): Promise<RestoreResult> {
  return withRestorePlan(engine, dir, project, instance, id, o, async (plan, rt) => {
    o.annotate?.({ plan });
    o.onPlan?.(plan);
    return executeRestore(engine, plan, rt, o);
  });
}

/** The backup's manifest, checked against what the bucket holds: before anything changes. */
export async function readManifest(loc: BackupLocation, id: string): Promise<BackupManifest> {
  const base = `${loc.prefix}${id}/`;
  const missing = () =>
    new OdpError('NOT_FOUND', `no backup ${id} of ${loc.project}/${loc.instance} in ${loc.bucket.name}`, {
      hint: `odp backups ${loc.project} ${loc.instance} lists them.`,
    });
  let manifest: BackupManifest;
  try {
    manifest = await loc.bucket.readJson<BackupManifest>(`${base}manifest.json`);
  } catch (e) {
    if (isOdpError(e) && e.code === 'NOT_FOUND') throw missing();
    throw e;
  }
  if (manifest.format !== 1 || manifest.project !== loc.project || manifest.instance !== loc.instance) {
    throw new OdpError(
      'USAGE',
      `${loc.bucket.name}/${base}manifest.json is not a backup of ${loc.project}/${loc.instance}`,
    );
  }
  const size = await loc.bucket.head(`${base}${manifest.dump.key}`);
  if (size !== manifest.dump.bytes) {
    throw new OdpError(
      'ENGINE',
      `backup ${manifest.id} is damaged: its dump is ${size === undefined ? 'missing' : `${size} bytes`}, its manifest says ${manifest.dump.bytes}`,
    );
  }
  return manifest;
}

/** A superuser session on the tier's server, once the instance's role is known to be there. */
async function openAdmin(engine: Engine, loc: BackupLocation, id: string): Promise<PgClient> {
  const what = `restore of ${loc.project}/${loc.instance} from ${id}`;
  let admin: PgClient;
  try {
    admin = await superuserConnection(engine, loc, 'postgres');
  } catch (e) {
    throw stepError(what, 'connecting to PostgreSQL', e, [`Nothing was changed.`]);
  }
  const role = loc.inst.dbUser;
  const found = await admin
    .query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])
    .catch(async (e: unknown) => {
      await admin.end().catch(() => undefined);
      throw stepError(what, 'reading the roles', e, [`Nothing was changed.`]);
    });
  if (found.rowCount === 0) {
    await admin.end().catch(() => undefined);
    throw new OdpError(
      'NOT_FOUND',
      `the role ${role} of ${loc.project}/${loc.instance} does not exist; nothing was changed`,
      { hint: `odp provision ${loc.project} ${loc.instance}` },
    );
  }
  return admin;
}

/** What a failed step was doing, as the error says it: "… failed while <this>". */
function doing(s: DataStep): string {
  switch (s.kind) {
    case 'stop-unit':
      return 'stopping the Odoo units';
    case 'copy-attachments':
      return 'copying the attachments back';
    case 'create-database':
      return 'creating a scratch database';
    case 'restore-dump':
      return 'restoring the dump (pg_restore)';
    case 'swap-database':
      return `replacing ${s.database} with the restored database`;
    default:
      return `${s.kind} ${s.id}`;
  }
}

async function executeRestore(
  engine: Engine,
  plan: DataPlan,
  rt: RestoreRuntime,
  o: RestoreOptions,
): Promise<RestoreResult> {
  const { loc, manifest, admin, target } = rt;
  const base = `${loc.prefix}${manifest.id}/`;
  const region = loc.pd.platform.services.storage.region;
  const copy = { copied: 0, bucketCreated: false };
  let kept: string | undefined;
  const run = await runDataPlan(
    plan,
    async (s) => {
      switch (s.kind) {
        case 'copy-attachments':
          return copyMissing(loc.bucket, `${base}attachments/`, target, region, copy);
        case 'create-database':
          // Its name is this database's, hashed: one a killed restore left behind is ours to drop.
          await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(s.database)} WITH (FORCE)`);
          return createDatabase(admin, s.database, s.owner);
        case 'restore-dump':
          return streamRestore(engine, loc, manifest, base, s.database, superuserPassword(loc));
        case 'swap-database':
          return swap(admin, s);
        case 'drop-database':
          try {
            await admin.query(`DROP DATABASE ${quoteIdent(s.database)} WITH (FORCE)`);
          } catch (e) {
            kept = s.database;
            throw new OdpError(
              'ENGINE',
              `kept as ${s.database}: ${e instanceof Error ? e.message : String(e)}`,
            );
          }
          return;
        default:
          throw unexpectedStep(plan, s);
      }
    },
    { engine, progress: o.progress, ...(o.stepPrefix ? { prefix: o.stepPrefix } : {}) },
  );
  // The replaced database not dropped is no failure: the restored one serves.
  const step = run.failure?.step;
  const failure = step?.kind === 'drop-database' && step.keepOnFailure ? undefined : run.failure;
  const notes = failure ? await dropScratch(admin, plan, run) : [];
  notes.push(...run.unstarted.map((u) => `${u.unit} could not be started again: ${u.error}`));
  const database = plan.target.database;
  if (failure) {
    const swapped = run.done.has(`swap-database:${database}`);
    throw stepError(
      `restore of ${loc.project}/${loc.instance} from ${manifest.id}`,
      doing(failure.step),
      failure.error,
      [
        swapped
          ? `The database ${database} is the restored one.`
          : `The database ${database} was not changed.`,
        ...(copy.bucketCreated ? [`The bucket ${target.name} was created.`] : []),
        ...(copy.copied
          ? [
              `${copy.copied} attachment objects missing from ${target.name} were copied back (they harm nothing).`,
            ]
          : []),
        ...(run.started.length ? [`Stopped and started again: ${run.started.join(', ')}.`] : []),
        ...notes,
      ],
    );
  }
  const done = `${loc.project}/${loc.instance} was restored from ${manifest.id}`;
  const unstarted = unstartedError(run, done, loc.project);
  if (unstarted) throw unstarted;
  return {
    id: manifest.id,
    project: loc.project,
    instance: loc.instance,
    database,
    dumpBytes: manifest.dump.bytes,
    attachmentsCopied: copy.copied,
    restarted: run.started,
    ...(kept ? { previousDatabaseKept: kept } : {}),
  };
}

/** After a failure: no scratch database left behind (what could not be dropped is said). */
async function dropScratch(admin: PgClient, plan: DataPlan, run: DataPlanRun): Promise<string[]> {
  const create = plan.steps.find((s) => s.kind === 'create-database');
  if (!create || !run.began.has(create.id) || run.done.has(`swap-database:${plan.target.database}`))
    return [];
  const name = create.kind === 'create-database' ? create.database : '';
  return admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).then(
    () => [],
    () => [`The scratch database ${name} could not be dropped: drop it by hand.`],
  );
}
