// `odp backup PROJECT integration|prod` and `odp backups`: a logical dump of the
// instance's database, made by pg_dump inside the tier's PostgreSQL container
// (the server's own version, nothing installed on the host) and streamed into the
// platform's backups bucket, with a copy of every attachment object and a
// manifest written last: a backup without its manifest is incomplete. The bucket
// is the source of truth; nothing about backups is kept anywhere else.
//
//   <backups bucket>/<project>/<instance>/<YYYYMMDDTHHMMSSZ>/db.dump
//                                                           /attachments/<key>
//                                                           /manifest.json
import { PassThrough } from 'node:stream';
import type { Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import { Secret } from '../../secret.js';
import { withInstanceLock } from '../../state/lock.js';
import { Bucket, inParallel, type StoredObject } from '../../backends/s3/bucket.js';
import { OWN_SERVER_ARGS } from '../../backends/postgres/index.js';
import { silentProgress, type Progress } from '../../progress.js';
import { describeRetention } from '../../plan/retention.js';
import { doomedBackups, instancePolicy, pinnedBackups, type InstanceRetention } from './backup-retention.js';
import { inDumpSnapshot, type CountedManifest } from './row-counts.js';

import {
  backupId,
  openBackups,
  superuserPassword,
  instanceBucket,
  superuserConnection,
  postgresUnit,
  pgToolEnv,
  toolOutput,
  stepError,
  tracked,
  odpVersion,
  marabuntaVersion,
  type BackupResult,
  type BackupOptions,
  type BackupLocation,
} from './backup-common.js';

export * from './backup-common.js';
export { formatBytes, instanceBackups, listBackups } from './backup-list.js';
import { formatBytes, listBackups } from './backup-list.js';

/** Takes a backup and returns its id (for other flows: an upgrade takes one before migrating). */
export async function backupInstance(
  engine: Engine,
  dir: string,
  project: string,
  instance: string,
  o: BackupOptions = {},
): Promise<string> {
  return (await takeBackup(engine, dir, project, instance, o)).id;
}

export async function takeBackup(
  engine: Engine,
  dir: string,
  project: string,
  instance: string,
  o: BackupOptions = {},
): Promise<BackupResult> {
  const progress = tracked(o.progress ?? silentProgress);
  const loc = await openBackups(dir, project, instance, { passphraseFile: o.passphraseFile, what: 'backup' });
  const source = await instanceBucket(loc, dir, o);
  try {
    superuserPassword(loc);
    await engine.ping();
    const body = () =>
      backupLocked(engine, loc, source, progress).catch((e: unknown) => {
        progress.failRunning(e instanceof Error ? e.message : String(e));
        throw e;
      });
    if (o.locked) return await body();
    return await withInstanceLock(
      dir,
      `${project}-${loc.instance}`,
      { wait: true, onWait: (h) => progress.note(`waiting for ${h}`) },
      body,
    );
  } finally {
    loc.bucket.close();
    source.close();
  }
}

async function backupLocked(
  engine: Engine,
  loc: BackupLocation,
  source: Bucket,
  progress: Progress,
): Promise<BackupResult> {
  const { inst, bucket } = loc;
  const what = `backup of ${loc.project}/${loc.instance}`;
  const password = superuserPassword(loc);

  progress.start('check', `check ${inst.database} on ${postgresUnit(loc)}`);
  let postgresVersion: string;
  let imageVersion: string | null = null;
  const admin = await superuserConnection(engine, loc, 'postgres');
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [inst.database]);
    if (found.rowCount === 0) {
      throw new OdpError('NOT_FOUND', `${loc.project}/${loc.instance} has no database ${inst.database} yet`, {
        hint: `odp provision ${loc.project} ${loc.instance}`,
      });
    }
    postgresVersion = (await admin.query<{ v: string }>('SHOW server_version')).rows[0]?.v ?? 'unknown';
  } finally {
    await admin.end().catch(() => undefined);
  }
  try {
    const db = await superuserConnection(engine, loc, inst.database);
    try {
      imageVersion = await marabuntaVersion(db);
    } finally {
      await db.end().catch(() => undefined);
    }
  } catch (e) {
    progress.note(`no version read from marabunta_version: ${e instanceof Error ? e.message : String(e)}`);
  }
  await bucket.ensure(loc.pd.platform.services.storage.region);
  progress.done(
    'check',
    `${inst.database}: PostgreSQL ${postgresVersion}, version ${imageVersion ?? 'unknown'}`,
  );

  // One backup per second and instance: under the lock, a second one waits for the next second.
  let started = new Date();
  let id = backupId(started);
  for (let i = 0; i < 5 && (await hasAny(bucket, `${loc.prefix}${id}/`)); i++) {
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 10));
    started = new Date();
    id = backupId(started);
  }
  if (await hasAny(bucket, `${loc.prefix}${id}/`))
    throw new OdpError('BUSY', `${bucket.name}/${loc.prefix}${id}/ is already taken`);
  const base = `${loc.prefix}${id}/`;
  const previous = (await listBackups(bucket, loc.prefix)).find((b) => b.complete && b.id < id);

  let step = 'dumping the database';
  try {
    progress.start(
      'dump',
      `pg_dump ${inst.database} in ${postgresUnit(loc)} → ${bucket.name}/${base}db.dump`,
    );
    // The key tables counted in the snapshot pg_dump dumps: a restore drill compares them exactly.
    const session = await superuserConnection(engine, loc, inst.database);
    const { result: dump, counts } = await inDumpSnapshot(session, (snapshot) =>
      streamDump(engine, loc, password, `${base}db.dump`, progress, snapshot),
    ).finally(() => session.end().catch(() => undefined));
    progress.done('dump', `dumped ${inst.database}: ${formatBytes(dump.bytes)}`);

    step = 'copying the attachments';
    progress.start('attachments', `copy the attachments of ${source.name}`);
    const attachments = await copyAttachments(
      source,
      bucket,
      base,
      previous && `${loc.prefix}${previous.id}/`,
    );
    progress.done(
      'attachments',
      `${attachments.objects} attachment objects (${formatBytes(attachments.bytes)}): ${attachments.copied} copied, ${attachments.reused} from the previous backup`,
    );

    step = 'writing the manifest';
    const manifest: CountedManifest = {
      format: 1,
      id,
      project: loc.project,
      instance: loc.instance,
      database: inst.database,
      role: inst.dbUser,
      image: `${inst.image}:${inst.tag}`,
      imageVersion,
      postgresVersion,
      odpVersion: await odpVersion(),
      createdAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      dump: { key: 'db.dump', format: 'custom', bytes: dump.bytes, sha256: dump.sha256 },
      attachments: { bucket: source.name, ...attachments },
      rowCounts: counts,
    };
    // Last: the manifest is what makes the backup complete.
    await bucket.writeJson(`${base}manifest.json`, manifest);
    progress.note(`backup ${id} of ${loc.project}/${loc.instance} is complete`);

    const result: BackupResult = { id, bucket: bucket.name, manifest, deleted: [] };
    const policy = instancePolicy(loc);
    progress.start('retention', `keep ${describeRetention(policy)}`);
    try {
      const retention = { policy, pinned: pinnedBackups(loc) };
      result.deleted = await applyRetention(bucket, loc.prefix, id, retention);
      progress.done(
        'retention',
        result.deleted.length ? `deleted ${result.deleted.join(', ')}` : 'nothing to delete',
      );
    } catch (e) {
      result.retentionError = e instanceof Error ? e.message : String(e);
      progress.fail('retention', result.retentionError);
    }
    return result;
  } catch (e) {
    const left = await bucket.deletePrefix(base).then(
      () => `Nothing of it was kept in ${bucket.name}.`,
      (d: unknown) =>
        `Its partial objects under ${bucket.name}/${base} could not be removed (${d instanceof Error ? d.message : String(d)}); it is listed as incomplete.`,
    );
    throw stepError(what, step, e, [`The database and the attachments were only read. ${left}`]);
  }
}

async function hasAny(bucket: Bucket, prefix: string): Promise<boolean> {
  for await (const _ of bucket.list(prefix)) return true;
  return false;
}

async function streamDump(
  engine: Engine,
  loc: BackupLocation,
  password: Secret,
  key: string,
  progress: Progress,
  snapshot: string,
): Promise<{ bytes: number; sha256: string }> {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  const dumping = engine.exec(
    postgresUnit(loc),
    [
      'pg_dump',
      ...OWN_SERVER_ARGS,
      '--format=custom',
      `--snapshot=${snapshot}`,
      `--dbname=${loc.inst.database}`,
    ],
    { env: pgToolEnv(password), user: 'postgres', stdout: out },
  );
  // pg_dump cannot start, or its stream breaks: the upload stops reading too.
  dumping.catch((e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))));
  let told = Date.now();
  try {
    return await loc.bucket.upload(key, out, {
      onBytes: (n) => {
        if (Date.now() - told < 15_000) return;
        told = Date.now();
        progress.note(`${formatBytes(n)} dumped so far`);
      },
      // Only a dump pg_dump finished is stored: anything else is abandoned unseen.
      beforeComplete: async () => {
        const r = await dumping;
        if (r.exitCode !== 0)
          throw new OdpError(
            'ENGINE',
            `pg_dump exited with code ${r.exitCode}: ${toolOutput(r.stderr, [password])}`,
          );
      },
    });
  } catch (e) {
    out.destroy();
    await dumping.catch(() => undefined);
    throw e;
  }
}

/**
 * Every object of the instance's bucket into `<base>attachments/`. Attachments are
 * content-addressed (their key is their sha1): an object the previous backup
 * holds with the same key, size and ETag is copied from there, inside the
 * backups bucket, and only new ones are read from the instance's bucket. Each
 * backup stays whole on its own, so retention can delete any of them.
 */
async function copyAttachments(
  source: Bucket,
  bucket: Bucket,
  base: string,
  previousBase: string | undefined,
): Promise<{ objects: number; bytes: number; copied: number; reused: number }> {
  if (!(await source.exists())) return { objects: 0, bytes: 0, copied: 0, reused: 0 };
  const before = new Map<string, StoredObject>();
  if (previousBase) {
    const from = `${previousBase}attachments/`;
    for await (const o of bucket.list(from)) before.set(o.key.slice(from.length), o);
  }
  const objects: StoredObject[] = [];
  for await (const o of source.list()) objects.push(o);
  let bytes = 0;
  let reused = 0;
  await inParallel(objects, async (o) => {
    const prev = before.get(o.key);
    const dest = `${base}attachments/${o.key}`;
    if (prev && prev.size === o.size && prev.etag === o.etag) {
      await bucket.copyFrom(bucket, prev, dest);
      reused += 1;
    } else {
      await bucket.copyFrom(source, o, dest);
    }
    bytes += o.size;
  });
  return { objects: objects.length, bytes, copied: objects.length - reused, reused };
}

/** Deletes the backups retention does not keep (never `justMade`). Returns their ids. */
async function applyRetention(
  bucket: Bucket,
  prefix: string,
  justMade: string,
  retention: InstanceRetention,
): Promise<string[]> {
  const doomed = doomedBackups(await listBackups(bucket, prefix), justMade, retention);
  for (const id of doomed) await bucket.deletePrefix(`${prefix}${id}/`);
  return doomed;
}
