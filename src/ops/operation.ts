// The one way a verb that changes something runs (issue 11): under its locks,
// recorded in the history, its progress reported. An operation on an instance
// holds the instance's lock and the platform lock shared; a change of the shared
// services holds the platform lock exclusive (docs/decisions/0060). A dry run
// changes nothing: no lock, no record. Errors pass through unchanged, so the CLI
// turns them into the exit codes it always did (cli/command.ts).
import type { Progress } from '../progress.js';
import { recorded, type OperationHandle } from '../state/history.js';
import { withInstanceLock } from '../state/lock.js';
import { withPlatformLock } from '../state/platform-lock.js';

/** The history's project and instance of operations on the shared services. */
export const PLATFORM_PROJECT = '_platform';
export const PLATFORM_INSTANCE = '-';

export interface Operation {
  dir: string;
  /** PLATFORM_PROJECT for the shared services. */
  project: string;
  /** The instance's label (`test@<slug>` for a branch); PLATFORM_INSTANCE for the shared services. */
  instance: string;
  /** The verb, as the history names it: deploy, destroy, provision, platform-up … */
  kind: string;
  version?: string;
  /** `exclusive`: the operation changes the shared services; else it changes one instance. */
  platform?: 'shared' | 'exclusive';
  progress: Progress;
  /** Wait for the holders of the locks (default), or stop at once with BUSY. */
  wait?: boolean;
  dryRun?: boolean;
}

/** An operation on the shared services: recorded under PLATFORM_PROJECT, the platform lock exclusive. */
export function platformOperation(
  dir: string,
  kind: string,
  o: { progress: Progress; dryRun?: boolean; wait?: boolean },
): Operation {
  return {
    dir,
    project: PLATFORM_PROJECT,
    instance: PLATFORM_INSTANCE,
    kind,
    platform: 'exclusive',
    progress: o.progress,
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.wait !== undefined ? { wait: o.wait } : {}),
  };
}

/** `body` under the operation's locks, recorded; a dry run runs it as is. */
export function runOperation<T>(
  o: Operation,
  body: (progress: Progress, op?: OperationHandle) => Promise<T>,
): Promise<T> {
  if (o.dryRun) return body(o.progress);
  return withOperationLocks(o, () => recordOperation(o, body));
}

/**
 * `body` under the operation's locks only: for a verb that decides under them
 * whether there is anything to record (a removal that finds nothing).
 */
export function withOperationLocks<T>(o: Operation, body: () => Promise<T>): Promise<T> {
  if (o.dryRun) return body();
  const opts = {
    wait: o.wait ?? true,
    onWait: (h: string) => o.progress.note(`waiting for ${h}`),
    what: describeOperation(o),
  };
  if (o.platform === 'exclusive') return withPlatformLock(o.dir, 'exclusive', opts, body);
  return withInstanceLock(o.dir, `${o.project}-${o.instance}`, opts, body);
}

/** `body` recorded as the operation in the history: its steps, its outcome. */
export function recordOperation<T>(
  o: Operation,
  body: (progress: Progress, op: OperationHandle) => Promise<T>,
): Promise<T> {
  return recorded(
    o.dir,
    { project: o.project, instance: o.instance, kind: o.kind, ...(o.version ? { version: o.version } : {}) },
    o.progress,
    body,
  );
}

function describeOperation(o: Operation): string {
  return o.project === PLATFORM_PROJECT ? o.kind : `${o.kind} ${o.project}/${o.instance}`;
}
