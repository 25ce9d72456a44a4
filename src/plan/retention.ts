// Which backups of an instance retention keeps, and which it deletes (decision 0079).
// Pure: the backups and their times in, ids out; the bucket is read and written by
// src/ops/backup. The same function decides for `odp backup` and its `--dry-run`.
//
// Grandfather-father-son, as restic's --keep-daily/weekly/monthly and borg's prune:
//   daily N    the newest backup of each of the N most recent UTC days that have one
//   weekly N   the newest of each of the N most recent ISO weeks (Monday to Sunday,
//              UTC) that have one
//   monthly N  the newest of each of the N most recent calendar months (UTC) that have one
// A backup chosen by any of the three is kept; so are the one just made and those
// the caller must keep whatever their age (the restore point `odp rollback` would
// use: a deploy's backup is often not the newest of its day). Periods
// without a backup are not counted: nights missed (a host down, a week of failures)
// push older backups out no sooner, so the set never shrinks for want of new ones.
//
// Only complete backups count and are chosen. An incomplete one (failed and not
// cleaned up, or one still being written) is deleted only once it is older than
// every backup kept: until then it may be a backup in progress.
import {
  DEFAULT_RETENTION,
  type BackupsSpec,
  type PlanBackupsSpec,
} from '../platform-spec/backups-schema.js';

export interface GfsPolicy {
  daily: number;
  weekly: number;
  monthly: number;
}

/** GFS, or the older `backups.keep`: the newest `keep`, whatever their days. */
export type RetentionPolicy = ({ kind: 'gfs' } & GfsPolicy) | { kind: 'newest'; keep: number };

export interface RetainedBackup {
  id: string;
  /** When it was made; ids are this time, so ties between equal times are broken by id. */
  createdAt: Date;
  complete: boolean;
}

/**
 * The policy of an instance on `plan`: the plan's own `backups` (a field it leaves
 * out is the platform's), else the platform's `retention`, else its older `keep`,
 * else the default GFS.
 */
export function retentionPolicy(
  backups: BackupsSpec,
  plan: { backups?: PlanBackupsSpec | undefined },
): RetentionPolicy {
  const platform: GfsPolicy = backups.retention ?? DEFAULT_RETENTION;
  const own = plan.backups;
  if (own) {
    return {
      kind: 'gfs',
      daily: own.daily ?? platform.daily,
      weekly: own.weekly ?? platform.weekly,
      monthly: own.monthly ?? platform.monthly,
    };
  }
  if (!backups.retention && backups.keep !== undefined) return { kind: 'newest', keep: backups.keep };
  return { kind: 'gfs', ...platform };
}

/** The policy for people: `7 daily, 4 weekly, 3 monthly`, `the newest 7`. */
export function describeRetention(p: RetentionPolicy): string {
  if (p.kind === 'newest') return `the newest ${p.keep}`;
  return `${p.daily} daily, ${p.weekly} weekly, ${p.monthly} monthly`;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The periods backups are grouped by, each named by a key equal for the same period. */
const utcDay = (t: Date) => t.toISOString().slice(0, 10);
const utcMonth = (t: Date) => t.toISOString().slice(0, 7);
/** An ISO week is named by its Monday (getUTCDay: Sunday is 0). */
const isoWeek = (t: Date) => utcDay(new Date(t.getTime() - ((t.getUTCDay() + 6) % 7) * DAY_MS));

/** Newest first; equal times by id, newest id first. */
function newestFirst<T extends RetainedBackup>(backups: readonly T[]): T[] {
  return [...backups].sort(
    (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
  );
}

/** The newest backup of each of the `count` most recent periods that have one. */
function newestPerPeriod(
  sorted: readonly RetainedBackup[],
  count: number,
  period: (t: Date) => string,
): string[] {
  const seen = new Set<string>();
  const chosen: string[] = [];
  for (const b of sorted) {
    const key = period(b.createdAt);
    if (seen.has(key)) continue;
    if (seen.size === count) break;
    seen.add(key);
    chosen.push(b.id);
  }
  return chosen;
}

/** The ids a GFS policy keeps among `backups` (all taken as complete, with valid times). */
export function gfsKept(backups: readonly RetainedBackup[], policy: GfsPolicy): Set<string> {
  const sorted = newestFirst(backups);
  return new Set([
    ...newestPerPeriod(sorted, policy.daily, utcDay),
    ...newestPerPeriod(sorted, policy.weekly, isoWeek),
    ...newestPerPeriod(sorted, policy.monthly, utcMonth),
  ]);
}

/**
 * The ids retention deletes from `all` once `justMade` is complete; `alsoKept` are
 * kept besides what the policy keeps (without counting for its periods). A backup
 * whose time cannot be read is never deleted: retention keeps rather than guesses.
 */
export function retentionDoomed(
  all: readonly RetainedBackup[],
  justMade: string,
  policy: RetentionPolicy,
  alsoKept: readonly string[] = [],
): string[] {
  const dated = all.filter((b) => !Number.isNaN(b.createdAt.getTime()));
  const complete = dated.filter((b) => b.complete);
  const kept =
    policy.kind === 'gfs'
      ? gfsKept(complete, policy)
      : new Set(
          newestFirst(complete.filter((b) => b.id !== justMade))
            .slice(0, Math.max(0, policy.keep - 1))
            .map((b) => b.id),
        );
  kept.add(justMade);
  const keptTimes = dated.filter((b) => kept.has(b.id)).map((b) => b.createdAt.getTime());
  // Not even the one just made listed: no time to compare with, so no incomplete one goes.
  // What `alsoKept` holds, however old, does not make leftovers of failed backups stay.
  const oldestKept = keptTimes.length ? Math.min(...keptTimes) : -Infinity;
  for (const id of alsoKept) kept.add(id);
  return dated
    .filter((b) => !kept.has(b.id) && (b.complete || b.createdAt.getTime() < oldestKept))
    .map((b) => b.id);
}
