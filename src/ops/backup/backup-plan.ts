// `odp backup PROJECT INSTANCE --dry-run`: what a backup would read and write,
// and which older backups its retention would then delete. It reads the spec,
// the secrets and the backups bucket's listing; it dumps, copies and deletes nothing.
import { backupId, instanceBucket, openBackups, postgresUnit, retentionDoomed } from './backup-common.js';
import { listBackups } from './backup.js';

export interface BackupPlan {
  project: string;
  instance: string;
  database: string;
  /** The PostgreSQL unit pg_dump runs in. */
  unit: string;
  /** The instance's attachments bucket, copied object by object. */
  attachments: string;
  /** Where the backup would go: `<bucket>/<project>/<instance>/<id>/`. */
  destination: string;
  keep: number;
  /** The backups retention would delete after this one. */
  deletes: string[];
}

export async function backupPlan(
  dir: string,
  project: string,
  instance: string,
  o: { passphraseFile?: string } = {},
): Promise<BackupPlan> {
  const loc = await openBackups(dir, project, instance, { passphraseFile: o.passphraseFile, what: 'backup' });
  const source = await instanceBucket(loc, dir, o);
  try {
    const id = backupId(new Date());
    const keep = loc.pd.platform.backups.keep;
    const existing = await listBackups(loc.bucket, loc.prefix);
    return {
      project,
      instance: loc.instance,
      database: loc.inst.database,
      unit: postgresUnit(loc),
      attachments: source.name,
      destination: `${loc.bucket.name}/${loc.prefix}${id}/`,
      keep,
      deletes: retentionDoomed([{ id, complete: true, createdAt: '', ageSeconds: 0 }, ...existing], id, keep),
    };
  } finally {
    loc.bucket.close();
    source.close();
  }
}
