// `odp backup PROJECT INSTANCE --dry-run`: what a backup would read and write,
// and which older backups its retention would then delete. It reads the spec,
// the secrets and the backups bucket's listing; it dumps, copies and deletes nothing.
import type { RetentionPolicy } from '../../plan/retention.js';
import { backupId, instanceBucket, openBackups, postgresUnit } from './backup-common.js';
import { doomedBackups, instanceRetention } from './backup-retention.js';
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
  /** The instance's retention: its plan's, else the platform's. */
  retention: RetentionPolicy;
  /** Kept whatever the policy says: the restore point `odp rollback` would use. */
  pinned: string[];
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
    const now = new Date();
    const id = backupId(now);
    const retention = instanceRetention(loc);
    const existing = await listBackups(loc.bucket, loc.prefix);
    // The listing the real run reads after writing the manifest: this one, complete, and the rest.
    const after = [{ id, complete: true, createdAt: now.toISOString(), ageSeconds: 0 }, ...existing];
    return {
      project,
      instance: loc.instance,
      database: loc.inst.database,
      unit: postgresUnit(loc),
      attachments: source.name,
      destination: `${loc.bucket.name}/${loc.prefix}${id}/`,
      retention: retention.policy,
      pinned: retention.pinned,
      deletes: doomedBackups(after, id, retention),
    };
  } finally {
    loc.bucket.close();
    source.close();
  }
}
