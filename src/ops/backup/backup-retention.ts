// Retention as `odp backup` applies it and `odp backup --dry-run` shows it: the
// instance's policy (its plan's, else the platform's), the backups kept whatever
// the policy says, and the ones it deletes, decided by src/plan/retention.ts.
import { retentionDoomed, retentionPolicy, type RetentionPolicy } from '../../plan/retention.js';
import { rollbackRestorePoint } from '../release/rollback-target.js';
import { backupTime, type BackupLocation, type BackupSummary } from './backup-common.js';

/** What retention decides from, besides the bucket's listing. */
export interface InstanceRetention {
  policy: RetentionPolicy;
  /**
   * The backup `odp rollback` would restore: a deploy's restore point is deleted by
   * no policy while a rollback may still need it (one made before a deploy at 01:00
   * is no day's newest once the nightly backup at 02:00 is made).
   */
  pinned: string[];
}

/** The instance's policy: its plan's, else the platform's. */
export function instancePolicy(loc: BackupLocation): RetentionPolicy {
  return retentionPolicy(loc.pd.platform.backups, loc.inst.plan);
}

/** What the instance's history says no policy may delete (it reads the state). */
export function pinnedBackups(loc: BackupLocation): string[] {
  const restorePoint = rollbackRestorePoint(loc.pd, loc.project, loc.instance);
  return restorePoint ? [restorePoint] : [];
}

export function instanceRetention(loc: BackupLocation): InstanceRetention {
  return { policy: instancePolicy(loc), pinned: pinnedBackups(loc) };
}

/**
 * The ids retention deletes among `listed` once `justMade` is complete. Times are
 * read from the ids (the backup's start, to the second), the order every listing
 * and the previous-backup lookup use, not from manifests an incomplete one lacks.
 */
export function doomedBackups(
  listed: readonly BackupSummary[],
  justMade: string,
  retention: InstanceRetention,
): string[] {
  const backups = listed.map((b) => ({ id: b.id, complete: b.complete, createdAt: backupTime(b.id) }));
  return retentionDoomed(backups, justMade, retention.policy, retention.pinned);
}
