// `odp restore PROJECT INSTANCE BACKUP`: the instance's database and attachments
// back to what a backup holds. The dump is restored into a scratch database
// first (pg_restore inside the tier's PostgreSQL container, fed by streaming the
// dump into its standard input); only once it restored whole, and its bytes
// match the manifest's SHA-256, is it swapped in for the instance's database in
// one transaction. A failure before that leaves the database as it was. Missing
// attachment objects are copied back before, which harms nothing: objects are
// content-addressed and only absent ones are added. The instance's Odoo units
// are stopped meanwhile, and started again at the end, whatever happened.
import { createHash, randomBytes } from 'node:crypto';
import { Transform, pipeline } from 'node:stream';
import { OWN_SERVER_ARGS, quoteIdent, sqlState, type PgClient } from '../../backends/postgres/index.js';
import type { Engine, ObservedUnit } from '../../engines/engine.js';
import { OdpError, isOdpError } from '../../errors.js';
import { withInstanceLock } from '../../state/lock.js';
import { inParallel, type Bucket, type StoredObject } from '../../backends/s3/bucket.js';
import {
  BACKUP_ID,
  formatBytes,
  instanceBucket,
  openBackups,
  pgToolEnv,
  postgresUnit,
  stepError,
  superuserConnection,
  superuserPassword,
  toolOutput,
  tracked,
  type BackupLocation,
  type TrackedProgress,
  type BackupManifest,
} from './backup.js';
import { silentProgress, type Progress } from '../../progress.js';

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

export async function restoreInstance(
  engine: Engine,
  dir: string,
  project: string,
  instance: string,
  id: string,
  o: { passphraseFile?: string; progress?: Progress; locked?: boolean } = {},
): Promise<RestoreResult> {
  const progress = tracked(o.progress ?? silentProgress);
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
    const body = () => restoreLocked(engine, loc, target, manifest, progress);
    // An upgrade undoing its migration already holds the instance's lock.
    if (o.locked) return await body();
    return await withInstanceLock(
      dir,
      `${project}-${loc.instance}`,
      { wait: true, onWait: (h) => progress.note(`waiting for ${h}`) },
      body,
    );
  } finally {
    loc.bucket.close();
    target.close();
  }
}

/** The backup's manifest, checked against what the bucket holds: before anything changes. */
async function readManifest(loc: BackupLocation, id: string): Promise<BackupManifest> {
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

async function restoreLocked(
  engine: Engine,
  loc: BackupLocation,
  target: Bucket,
  manifest: BackupManifest,
  progress: TrackedProgress,
): Promise<RestoreResult> {
  const { inst, bucket } = loc;
  const database = inst.database;
  const role = inst.dbUser;
  const base = `${loc.prefix}${manifest.id}/`;
  const what = `restore of ${loc.project}/${loc.instance} from ${manifest.id}`;
  const password = superuserPassword(loc);

  let admin: PgClient;
  try {
    admin = await superuserConnection(engine, loc, 'postgres');
  } catch (e) {
    throw stepError(what, 'connecting to PostgreSQL', e, [`Nothing was changed.`]);
  }
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
      {
        hint: `odp provision ${loc.project} ${loc.instance}`,
      },
    );
  }

  const result: RestoreResult = {
    id: manifest.id,
    project: loc.project,
    instance: loc.instance,
    database,
    dumpBytes: manifest.dump.bytes,
    attachmentsCopied: 0,
    restarted: [],
  };
  const copy = { copied: 0, bucketCreated: false };
  let stopped: ObservedUnit[] = [];
  let scratch: string | undefined;
  let databaseChanged = false;
  let step = 'stopping the Odoo units';
  let failure: unknown;
  const notes: string[] = [];
  try {
    stopped = await stopUnits(engine, loc, progress);

    step = 'copying the attachments back';
    progress.start('attachments', `attachments missing from ${target.name}`);
    await copyMissing(bucket, `${base}attachments/`, target, loc.pd.platform.services.storage.region, copy);
    result.attachmentsCopied = copy.copied;
    progress.done('attachments', `${copy.copied} attachment objects copied back to ${target.name}`);

    step = 'creating a scratch database';
    scratch = `odp_restore_${randomBytes(5).toString('hex')}`;
    progress.start('scratch', `create ${scratch}, owned by ${role}`);
    await admin.query(
      `CREATE DATABASE ${quoteIdent(scratch)} OWNER ${quoteIdent(role)} TEMPLATE template0 ENCODING 'UTF8'`,
    );
    await admin.query(`REVOKE CONNECT ON DATABASE ${quoteIdent(scratch)} FROM PUBLIC`);
    await admin.query(`GRANT CONNECT ON DATABASE ${quoteIdent(scratch)} TO ${quoteIdent(role)}`);
    progress.done('scratch');

    step = 'restoring the dump (pg_restore)';
    progress.start('restore', `pg_restore ${manifest.id} into ${scratch} in ${postgresUnit(loc)}`);
    await streamRestore(engine, loc, manifest, base, scratch, password);
    progress.done('restore', `restored ${formatBytes(manifest.dump.bytes)} into ${scratch}`);

    step = `replacing ${database} with the restored database`;
    progress.start('swap', `swap ${scratch} in for ${database}`);
    const old = await swap(admin, database, scratch);
    databaseChanged = true;
    scratch = undefined;
    progress.done('swap', `${database} is the restored database`);

    if (old) {
      progress.start('drop', `drop the replaced database (${old})`);
      try {
        await admin.query(`DROP DATABASE ${quoteIdent(old)} WITH (FORCE)`);
        progress.done('drop');
      } catch (e) {
        result.previousDatabaseKept = old;
        progress.fail('drop', `kept as ${old}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  } catch (e) {
    failure = e;
    progress.failRunning(e instanceof Error ? e.message : String(e));
  }

  // Whatever happened: no scratch database left, the units running again.
  if (scratch) {
    const name = scratch;
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).then(
      () => undefined,
      () => notes.push(`The scratch database ${name} could not be dropped: drop it by hand.`),
    );
  }
  await admin.end().catch(() => undefined);
  const unstarted: string[] = [];
  // Owners before their sidecars (which join their network namespace).
  for (const u of [...stopped].reverse()) {
    try {
      await engine.start(u.name);
      result.restarted.push(u.name);
    } catch (e) {
      unstarted.push(u.name);
      notes.push(`${u.name} could not be started again: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (stopped.length) progress.note(`started again: ${result.restarted.join(', ') || 'none'}`);

  if (failure !== undefined) {
    const aftermath = [
      databaseChanged
        ? `The database ${database} is the restored one.`
        : `The database ${database} was not changed.`,
      ...(copy.bucketCreated ? [`The bucket ${target.name} was created.`] : []),
      ...(copy.copied
        ? [
            `${copy.copied} attachment objects missing from ${target.name} were copied back (they harm nothing).`,
          ]
        : []),
      ...(result.restarted.length ? [`Stopped and started again: ${result.restarted.join(', ')}.`] : []),
      ...notes,
    ];
    throw stepError(what, step, failure, aftermath);
  }
  if (unstarted.length) {
    throw new OdpError(
      'ENGINE',
      `${loc.project}/${loc.instance} was restored from ${manifest.id}, but ${unstarted.join(', ')} did not start again`,
      { detail: notes.join('\n'), hint: `odp status ${loc.project}` },
    );
  }
  for (const n of notes) progress.note(n);
  return result;
}

/** Stops the instance's running units, sidecars first; returns them in the order stopped. */
async function stopUnits(engine: Engine, loc: BackupLocation, progress: Progress): Promise<ObservedUnit[]> {
  const observed = await engine.observe({
    platform: loc.pd.platform.name,
    project: loc.project,
    instance: loc.instance,
  });
  const running = observed.units
    .filter((u) => u.state === 'running' || u.state === 'restarting')
    // The nginx sidecar lives in its Odoo's network namespace: it goes first.
    .sort(
      (a, b) => Number(b.service !== 'odoo') - Number(a.service !== 'odoo') || a.name.localeCompare(b.name),
    );
  const stopped: ObservedUnit[] = [];
  try {
    for (const u of running) {
      progress.start(`stop-${u.name}`, `stop ${u.name}`);
      await engine.stop(u.name, 30);
      stopped.push(u);
      progress.done(`stop-${u.name}`);
    }
  } catch (e) {
    // Start again what was stopped before failing.
    for (const u of [...stopped].reverse()) await engine.start(u.name).catch(() => undefined);
    throw e;
  }
  return stopped;
}

/** Copies the backup's attachment objects that `target` lacks, counting into `done` as it goes. */
async function copyMissing(
  bucket: Bucket,
  prefix: string,
  target: Bucket,
  region: string,
  done: { copied: number; bucketCreated: boolean },
): Promise<void> {
  const wanted: StoredObject[] = [];
  for await (const o of bucket.list(prefix)) wanted.push(o);
  if (wanted.length === 0) return;
  done.bucketCreated = (await target.ensure(region)) === 'created';
  const have = new Set<string>();
  if (!done.bucketCreated) for await (const o of target.list()) have.add(o.key);
  const missing = wanted.filter((o) => !have.has(o.key.slice(prefix.length)));
  await inParallel(missing, async (o) => {
    await target.copyFrom(bucket, o, o.key.slice(prefix.length));
    done.copied += 1;
  });
}

/**
 * Feeds the dump to pg_restore in the tier's container, into `scratch`, as the
 * instance's role; checks the bytes fed against the manifest's SHA-256.
 */
async function streamRestore(
  engine: Engine,
  loc: BackupLocation,
  manifest: BackupManifest,
  base: string,
  scratch: string,
  password: ReturnType<typeof superuserPassword>,
): Promise<void> {
  const { body } = await loc.bucket.read(`${base}${manifest.dump.key}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  // The download stops when pg_restore stops reading (it failed): nothing dangles.
  pipeline(body, counted, () => undefined);
  let r;
  try {
    r = await engine.exec(
      postgresUnit(loc),
      [
        'pg_restore',
        ...OWN_SERVER_ARGS,
        `--dbname=${scratch}`,
        '--no-owner',
        `--role=${loc.inst.dbUser}`,
        '--exit-on-error',
      ],
      { env: pgToolEnv(password), user: 'postgres', stdin: counted },
    );
  } finally {
    body.destroy();
  }
  if (r.exitCode !== 0) {
    throw new OdpError(
      'ENGINE',
      `pg_restore exited with code ${r.exitCode}: ${toolOutput(r.stderr, [password])}`,
    );
  }
  const sha256 = hash.digest('hex');
  if (bytes !== manifest.dump.bytes || sha256 !== manifest.dump.sha256) {
    throw new OdpError(
      'ENGINE',
      `the dump read back (${bytes} bytes, sha256 ${sha256.slice(0, 12)}…) is not the one backed up (${manifest.dump.bytes} bytes, ${manifest.dump.sha256.slice(0, 12)}…)`,
    );
  }
}

/**
 * Renames `database` away and `scratch` to its name, in one transaction, after
 * closing every connection to it; returns the name the old one got (undefined
 * when there was none).
 */
async function swap(admin: PgClient, database: string, scratch: string): Promise<string | undefined> {
  const old = `odp_replaced_${randomBytes(5).toString('hex')}`;
  for (let attempt = 1; ; attempt++) {
    const exists =
      (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount! > 0;
    // Wait (up to 5 s each) for every session on it to end, Odoo's and anyone else's.
    await admin.query(
      'SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    try {
      await admin.query('BEGIN');
      if (exists) await admin.query(`ALTER DATABASE ${quoteIdent(database)} RENAME TO ${quoteIdent(old)}`);
      await admin.query(`ALTER DATABASE ${quoteIdent(scratch)} RENAME TO ${quoteIdent(database)}`);
      await admin.query('COMMIT');
      return exists ? old : undefined;
    } catch (e) {
      await admin.query('ROLLBACK').catch(() => undefined);
      // 55006: someone connected again in between; close them again.
      if (sqlState(e) !== '55006' || attempt >= 5) throw e;
    }
  }
}
