// What `odp rollback` goes back to, read from the project's spec and the instance's
// history alone: the newest successful deploy or rollback that brought it to the
// version it runs, and that change's restore point. Apart from the rollback itself,
// so that backup retention can keep that restore point without loading the
// release machinery (which takes backups: a cycle).
import { OdpError } from '../../errors.js';
import { loadPlatformDir, requireProject, type PlatformDir } from '../../platformdir/load.js';
import { history, type OperationRecord } from '../../state/history.js';

export interface RollbackTarget {
  project: string;
  instance: string;
  /** The version running now (the spec's). */
  from: string;
  /** The version it goes back to. */
  to: string;
  /** The history entry rolled back. */
  undoes: number;
  /** The backup the database returns to (the undone deploy migrated); none: the database stays. */
  restorePoint: string | null;
}

/** The newest successful deploy or rollback that brought the instance to `version`. */
function lastChange(ops: OperationRecord[], version: string | undefined): OperationRecord | undefined {
  return ops.find(
    (x) =>
      (x.kind === 'deploy' || x.kind === 'rollback') && x.outcome === 'succeeded' && x.version === version,
  );
}

/** The change a rollback would undo now, and the version the spec says runs. */
function undoable(pd: PlatformDir, project: string, instance: string) {
  const current = requireProject(pd, project).spec.instances[instance as 'prod']?.version;
  const last = lastChange(history(pd.dir, project, instance, 100), current);
  return { current, last: current && last?.fromVersion ? last : undefined };
}

/** What a rollback of the instance goes back to, from its spec and history; reads only. */
export async function rollbackTarget(
  dir: string,
  project: string,
  instance: string,
): Promise<RollbackTarget> {
  const { current, last } = undoable(await loadPlatformDir(dir), project, instance);
  if (!current || !last?.fromVersion) {
    throw new OdpError(
      'NOT_FOUND',
      `no earlier version of ${project}/${instance} is recorded: nothing to roll back to`,
      { hint: `odp history ${project} ${instance} shows what ran; deploy one with --version.` },
    );
  }
  return {
    project,
    instance,
    from: current,
    to: last.fromVersion,
    undoes: last.id,
    restorePoint: last.backupId,
  };
}

/** The backup a rollback of the instance would restore now, if any. */
export function rollbackRestorePoint(pd: PlatformDir, project: string, instance: string): string | null {
  return undoable(pd, project, instance).last?.backupId ?? null;
}
