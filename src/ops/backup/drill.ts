// `odp drill PROJECT [INSTANCE]` and the weekly `restore-drill:<project>` job:
// a backup proved restorable. The newest complete backup (or the one named) is
// restored into a scratch database beside the instance's, its dump checked
// against the manifest's SHA-256 as it streams (restore-steps.ts), then: the
// key tables' row counts equal those counted in the dump's snapshot, every
// attachment it references exists, and Odoo starts on it. The instance is
// never stopped and nothing is swapped in: production keeps serving. The
// scratch database is dropped at the end, whatever happened. Every drill is
// recorded in the state database with how long each phase took and how old
// the data was; a failed check is a failed drill, not an exception, so the
// record is kept and printed (the caller turns it into an exit code or a
// failed scheduled run, which alerts).
import { quoteIdent, type PgClient } from '../../backends/postgres/index.js';
import type { Bucket } from '../../backends/s3/bucket.js';
import type { Tier } from '../../compose/platform.js';
import type { Engine } from '../../engines/engine.js';
import { drillName } from '../../plan/data-ops.js';
import { loadPlatformDir, requireProject } from '../../platformdir/load.js';
import { silentProgress, type Progress } from '../../progress.js';
import { openState } from '../../state/db.js';
import { recordDrill } from '../../state/drills.js';
import { withInstanceLock } from '../../state/lock.js';
import { createDatabase } from '../db/db-server.js';
import { listBackups } from './backup.js';
import {
  instanceBucket,
  openBackups,
  parseTier,
  postgresUnit,
  superuserConnection,
  superuserPassword,
  tracked,
  type BackupLocation,
} from './backup-common.js';
import { readManifest } from './backup-restore.js';
import { checkAttachments, checkCounts } from './drill-checks.js';
import {
  chooseBackup,
  drillTier,
  secondsBetween,
  type DrillPhase,
  type DrillRecord,
  type PhaseName,
  type PhaseOutcome,
} from './drill-model.js';
import { startOdooOn } from './drill-odoo.js';
import { streamRestore } from './restore-steps.js';
import type { CountedManifest } from './row-counts.js';

/** What to drill, and how. */
export interface DrillOptions {
  dir: string;
  project: string;
  /** integration or prod; default prod, or integration when the project has no prod. */
  instance?: string;
  /** A backup id; default the newest complete one. */
  backup?: string;
  passphraseFile?: string;
  progress?: Progress;
}

/** The instance a drill of `project` drills (`instance`, else prod, else integration) and its backups. */
async function drillTarget(o: DrillOptions): Promise<{ tier: Tier; open: () => Promise<BackupLocation> }> {
  const { dir, project } = o;
  const tier = o.instance
    ? parseTier(o.instance, 'a restore drill')
    : drillTier(requireProject(await loadPlatformDir(dir), project).spec.instances, project);
  const what = 'a restore drill';
  return { tier, open: () => openBackups(dir, project, tier, { passphraseFile: o.passphraseFile, what }) };
}

export interface DrillPlan {
  project: string;
  instance: Tier;
  backup: string;
  backupCreatedAt: string;
  dataAgeSeconds: number;
  server: string;
  scratch: string;
  imageVersion: string | null;
  rowCounts: boolean;
}

/** What `odp drill` would do (its --dry-run): the backup it would restore, where; reads only. */
export async function drillPlan(o: DrillOptions): Promise<DrillPlan> {
  const { tier, open } = await drillTarget(o);
  const { project } = o;
  const loc = await open();
  try {
    const b = chooseBackup(await listBackups(loc.bucket, loc.prefix), o.backup, `${project}/${tier}`);
    const m: CountedManifest = await readManifest(loc, b.id);
    return {
      project,
      instance: tier,
      backup: b.id,
      backupCreatedAt: m.createdAt,
      dataAgeSeconds: b.ageSeconds,
      server: postgresUnit(loc),
      scratch: drillName(loc.inst.database),
      imageVersion: m.imageVersion,
      rowCounts: m.rowCounts !== undefined,
    };
  } finally {
    loc.bucket.close();
  }
}

/** Runs a drill and records it; resolves with its record whether it passed or failed. */
export async function restoreDrill(engine: Engine, o: DrillOptions): Promise<DrillRecord> {
  const { dir, project } = o;
  const { tier, open } = await drillTarget(o);
  // One drill of an instance at a time (they share the scratch database); deploys and backups go on.
  return withInstanceLock(
    dir,
    `${project}-${tier}-drill`,
    { wait: false, what: 'a restore drill' },
    async () => {
      const loc = await open();
      const target = await instanceBucket(loc, dir, o).catch((e: unknown) => {
        loc.bucket.close();
        throw e;
      });
      try {
        const record = await drill(engine, loc, target, o);
        const db = openState(dir);
        try {
          recordDrill(db, record, record);
        } finally {
          db.close();
        }
        return record;
      } finally {
        loc.bucket.close();
        target.close();
      }
    },
  );
}

type RunPhase = (
  name: PhaseName,
  text: string,
  body: () => Promise<{ detail: string; outcome?: PhaseOutcome }>,
) => Promise<boolean>;

async function drill(
  engine: Engine,
  loc: BackupLocation,
  target: Bucket,
  o: DrillOptions,
): Promise<DrillRecord> {
  const progress = tracked(o.progress ?? silentProgress);
  const started = Date.now();
  const scratch = drillName(loc.inst.database);
  const rec: DrillRecord = {
    project: loc.project,
    instance: loc.instance,
    backup: null,
    backupCreatedAt: null,
    startedAt: new Date(started).toISOString(),
    finishedAt: '',
    seconds: 0,
    dataAgeSeconds: null,
    outcome: 'passed',
    phases: [],
    scratch,
  };
  /** Runs one phase, timed; a throw fails it (and the drill) with its message. True unless it failed. */
  const phase: RunPhase = async (name, text, body) => {
    const t0 = Date.now();
    progress.start(name, text);
    let p: DrillPhase;
    try {
      const r = await body();
      p = { name, outcome: r.outcome ?? 'passed', seconds: secondsBetween(t0, Date.now()), detail: r.detail };
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      p = { name, outcome: 'failed', seconds: secondsBetween(t0, Date.now()), detail };
    }
    rec.phases.push(p);
    if (p.outcome === 'failed') progress.fail(name, p.detail);
    else progress.done(name, `${p.detail} (${p.seconds} s)`);
    return p.outcome !== 'failed';
  };
  const skip = (names: PhaseName[], why: string) => {
    for (const name of names) rec.phases.push({ name, outcome: 'skipped', seconds: 0, detail: why });
  };

  let manifest: CountedManifest | undefined;
  await phase('choose', `choose a backup of ${loc.project}/${loc.instance}`, async () => {
    const all = await listBackups(loc.bucket, loc.prefix);
    const b = chooseBackup(all, o.backup, `${loc.project}/${loc.instance}`);
    rec.backup = b.id;
    manifest = await readManifest(loc, b.id);
    rec.backupCreatedAt = manifest.createdAt;
    rec.dataAgeSeconds = Math.max(0, Math.round((started - Date.parse(manifest.createdAt)) / 1000));
    return { detail: `${b.id}, taken ${manifest.createdAt}` };
  });
  const m = manifest;
  if (!m) {
    skip(['restore', 'row-counts', 'attachments', 'odoo'], 'no backup to restore');
    return finish(rec, started);
  }
  let admin: PgClient | undefined;
  try {
    const restored = await phase(
      'restore',
      `restore ${m.id} into ${scratch} on ${postgresUnit(loc)}`,
      async () => {
        admin = await superuserConnection(engine, loc, 'postgres');
        // Named after the instance's database: one a killed drill left behind is ours to drop.
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`);
        await createDatabase(admin, scratch, loc.inst.dbUser);
        await streamRestore(engine, loc, m, `${loc.prefix}${m.id}/`, scratch, superuserPassword(loc));
        return { detail: `${m.dump.bytes} bytes restored, SHA-256 as in the manifest` };
      },
    );
    if (restored) await check(engine, loc, target, rec, m, phase, o.passphraseFile);
    else skip(['row-counts', 'attachments', 'odoo'], 'the backup did not restore');
  } finally {
    // Always, whatever failed: a drill leaves nothing on the server.
    await phase('drop', `drop ${scratch}`, async () => {
      admin ??= await superuserConnection(engine, loc, 'postgres');
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`);
      return { detail: `${scratch} dropped` };
    });
    await admin?.end().catch(() => undefined);
  }
  return finish(rec, started);
}

/** The checks on the restored database, each a phase of its own: all run, whichever fails. */
async function check(
  engine: Engine,
  loc: BackupLocation,
  target: Bucket,
  rec: DrillRecord,
  m: CountedManifest,
  phase: RunPhase,
  passphraseFile: string | undefined,
): Promise<void> {
  const { scratch } = rec;
  const copies = `${loc.prefix}${m.id}/attachments/`;
  const db = await superuserConnection(engine, loc, scratch);
  try {
    await phase('row-counts', 'compare the key tables’ row counts with the backup’s', async () => {
      const c = await checkCounts(db, m.rowCounts);
      rec.counts = { expected: c.expected, actual: c.actual, differences: c.differences };
      if (c.differences.length) throw new Error(`row counts differ: ${c.detail}`);
      return { detail: c.detail, ...(c.skipped ? { outcome: 'skipped' as const } : {}) };
    });
    await phase('attachments', 'look up every attachment the database references', async () => {
      const a = await checkAttachments(db, loc.bucket, copies, target);
      const { referenced, missing, outsideObjectStorage } = a;
      rec.attachments = { referenced, missing, outsideObjectStorage };
      if (missing.length) throw new Error(a.detail);
      return { detail: a.detail };
    });
  } finally {
    await db.end().catch(() => undefined);
  }
  await phase('odoo', `start Odoo ${m.imageVersion ?? '(the spec’s version)'} on ${scratch}`, async () => {
    const r = await startOdooOn(engine, loc.pd, {
      project: loc.project,
      tier: loc.instance,
      version: m.imageVersion,
      scratch,
      ...(passphraseFile ? { passphraseFile } : {}),
    });
    rec.image = r.image;
    return { detail: `${r.image} started and stopped on the restored database` };
  });
}

function finish(rec: DrillRecord, started: number): DrillRecord {
  const ended = Date.now();
  rec.finishedAt = new Date(ended).toISOString();
  rec.seconds = secondsBetween(started, ended);
  rec.outcome = rec.phases.some((p) => p.outcome === 'failed') ? 'failed' : 'passed';
  return rec;
}
