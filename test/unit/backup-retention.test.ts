// Grandfather-father-son retention (src/plan/retention.ts, decision 0079) over a
// simulated year: a clock of plain Dates, one backup each night and retention
// applied right after it, as `odp backup` does, and the kept set compared with the
// GFS set worked out by hand from the calendar.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backupId, type BackupSummary } from '../../src/ops/backup/backup-common.js';
import { doomedBackups } from '../../src/ops/backup/backup-retention.js';
import {
  gfsKept,
  retentionDoomed,
  type GfsPolicy,
  type RetainedBackup,
  type RetentionPolicy,
} from '../../src/plan/retention.js';

const GFS: RetentionPolicy = { kind: 'gfs', daily: 7, weekly: 4, monthly: 3 };
const DAY_MS = 24 * 60 * 60 * 1000;

/** A backup made at `at` (`2025-03-31T02:00`, UTC). */
function made(at: string, complete = true): RetainedBackup {
  const createdAt = new Date(`${at}Z`);
  return { id: backupId(createdAt), createdAt, complete };
}

/** The ids of the nightly backups (02:00 UTC) of these days; a day named twice (a union) is one. */
const nights = (...days: string[]) => [...new Set(days.map((d) => made(`${d}T02:00:00`).id))].sort();

/** `2025-03-25`…`2025-03-31`: each day from `first` to `last`. */
function daysFrom(first: string, last: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= Date.parse(`${last}T00:00:00Z`); t += DAY_MS)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** One backup, then retention: what `odp backup` leaves in the bucket. */
function backUp(held: RetainedBackup[], b: RetainedBackup, policy: RetentionPolicy): RetainedBackup[] {
  const listed = [...held, b];
  const doomed = new Set(retentionDoomed(listed, b.id, policy));
  assert.ok(!doomed.has(b.id), `${b.id} was just made`);
  return listed.filter((x) => !doomed.has(x.id));
}

interface Year {
  /** The ids held after the night of each day. */
  after: Map<string, string[]>;
  /** Every backup ever made, for comparing with GFS over the whole history. */
  everMade: RetainedBackup[];
}

/** A backup each night of 2025 at 02:00 UTC, but for `missed` days. */
function simulateYear(policy: RetentionPolicy, missed: ReadonlySet<string> = new Set()): Year {
  let held: RetainedBackup[] = [];
  const after = new Map<string, string[]>();
  const everMade: RetainedBackup[] = [];
  for (const day of daysFrom('2025-01-01', '2025-12-31')) {
    if (!missed.has(day)) {
      const b = made(`${day}T02:00:00`);
      everMade.push(b);
      held = backUp(held, b, policy);
    }
    after.set(day, held.map((b) => b.id).sort());
  }
  return { after, everMade };
}

/** What 7 daily, 4 weekly, 3 monthly keeps on December 31st, 2025, of nightly backups. */
const endOf2025 = nights(
  ...daysFrom('2025-12-25', '2025-12-31'),
  // The weeks: Dec 29 to Jan 4 (today's), Dec 22 to 28, 15 to 21, 8 to 14.
  '2025-12-28',
  '2025-12-21',
  '2025-12-14',
  // The months: December's (today's), November's and October's last.
  '2025-11-30',
  '2025-10-31',
);

const missedWeek = new Set(daysFrom('2025-06-09', '2025-06-15'));
const year = simulateYear(GFS, missedWeek);

test('a year of nightly backups: the last night keeps 7 days, 4 weeks and 3 months', () => {
  assert.deepEqual(year.after.get('2025-12-31'), endOf2025);
});

test('a month boundary: the new month counts, the oldest month and a day that was only daily go', () => {
  assert.deepEqual(
    year.after.get('2025-03-31'),
    nights(...daysFrom('2025-03-25', '2025-03-31'), '2025-03-23', '2025-03-16', '2025-02-28', '2025-01-31'),
  );
  // April 1st: January leaves the 3 months, March 25th the 7 days (it ends no week).
  assert.deepEqual(
    year.after.get('2025-04-01'),
    nights(...daysFrom('2025-03-26', '2025-04-01'), '2025-03-23', '2025-03-16', '2025-02-28'),
  );
});

test('a missed week: the set does not shrink, the days and weeks reach further back', () => {
  const before = year.after.get('2025-06-08')!;
  // No backup, no retention: nothing goes while none are made.
  for (const day of missedWeek) assert.deepEqual(year.after.get(day), before);
  assert.deepEqual(
    year.after.get('2025-06-18'),
    nights(
      // 7 days that have a backup: three after the gap, four before it.
      ...['2025-06-05', '2025-06-06', '2025-06-07', '2025-06-08'],
      ...['2025-06-16', '2025-06-17', '2025-06-18'],
      // Weeks with a backup: this one, Jun 2 to 8, May 26 to Jun 1, May 19 to 25.
      '2025-06-01',
      '2025-05-25',
      // Months: June's, May's and April's last.
      '2025-05-31',
      '2025-04-30',
    ),
  );
});

test('every night, what nightly retention left is GFS over every backup ever made', () => {
  for (const [day, held] of year.after) {
    const history = year.everMade.filter((b) => b.id.slice(0, 8) <= day.replaceAll('-', ''));
    if (history.length === 0) continue;
    assert.deepEqual(held, [...gfsKept(history, GFS)].sort(), day);
    assert.ok(held.length <= 7 + 4 + 3, `${day}: ${held.length}`);
  }
});

test('weekly 0: only the days and the months are kept', () => {
  const noWeeks = simulateYear({ kind: 'gfs', daily: 7, weekly: 0, monthly: 3 });
  assert.deepEqual(
    noWeeks.after.get('2025-12-31'),
    nights(...daysFrom('2025-12-25', '2025-12-31'), '2025-11-30', '2025-10-31'),
  );
});

test('two backups the same day: the newer stands for the day, at once', () => {
  let held = daysFrom('2025-05-01', '2025-05-09').reduce<RetainedBackup[]>(
    (h, d) => backUp(h, made(`${d}T02:00:00`), GFS),
    [],
  );
  // A backup before an upgrade, the afternoon of the 9th.
  const upgrade = made('2025-05-09T14:30:00');
  held = backUp(held, upgrade, GFS);
  const ids = held.map((b) => b.id);
  assert.ok(ids.includes(upgrade.id));
  assert.ok(
    !ids.includes(made('2025-05-09T02:00:00').id),
    "the night's backup of the 9th is no day's newest",
  );
  assert.deepEqual(ids.sort(), [...nights(...daysFrom('2025-05-03', '2025-05-08')), upgrade.id].sort());
});

test('an incomplete backup: kept while newer than the oldest kept, never counted as a day', () => {
  const year = daysFrom('2025-01-01', '2025-12-30').map((d) => made(`${d}T02:00:00`));
  const failedOld = made('2025-09-15T03:00:00', false);
  // Newer than the night's backup of a day kept: were it counted, it would displace it.
  const failedRecent = made('2025-12-28T03:00:00', false);
  const justMade = made('2025-12-31T02:00:00');
  const held = backUp([...year, failedOld, failedRecent], justMade, GFS).map((b) => b.id);
  assert.ok(held.includes(failedRecent.id), 'newer than October 31st, the oldest kept: it may be running');
  assert.ok(!held.includes(failedOld.id), 'older than every backup kept: failed long ago');
  assert.deepEqual(
    held.filter((id) => id !== failedRecent.id),
    endOf2025,
  );
});

test('the backup just made is kept, even when its clock put it before newer ones', () => {
  const ahead = made('2025-05-02T02:00:00');
  const older = made('2025-04-30T02:00:00');
  const justMade = made('2025-05-01T02:00:00');
  const policy: RetentionPolicy = { kind: 'gfs', daily: 1, weekly: 0, monthly: 0 };
  assert.deepEqual(retentionDoomed([ahead, older, justMade], justMade.id, policy), [older.id]);
  // The older count, too: keep 1 is the one just made, whatever is newer.
  assert.deepEqual(
    retentionDoomed([ahead, older, justMade], justMade.id, { kind: 'newest', keep: 1 }).sort(),
    [ahead.id, older.id].sort(),
  );
});

test('the older keep: the newest N, two the same day included', () => {
  const listed = ['2025-05-01T02:00:00', '2025-05-02T02:00:00', '2025-05-02T14:00:00'].map((t) => made(t));
  const doomed = retentionDoomed(listed, listed[2]!.id, { kind: 'newest', keep: 2 });
  assert.deepEqual(doomed, [listed[0]!.id]);
});

test('a backup whose time cannot be read is never deleted', () => {
  const unreadable: RetainedBackup = { id: '20251399T020000Z', createdAt: new Date(NaN), complete: true };
  const listed = [made('2025-05-01T02:00:00'), made('2025-05-02T02:00:00'), unreadable];
  const policy: GfsPolicy & { kind: 'gfs' } = { kind: 'gfs', daily: 1, weekly: 0, monthly: 0 };
  assert.deepEqual(retentionDoomed(listed, listed[1]!.id, policy), [listed[0]!.id]);
});

test("the bucket's listing: times are read from the ids, manifests or not", () => {
  // As listBackups returns them, newest first; an incomplete one has no manifest's time.
  const listed: BackupSummary[] = ['20250503T020000Z', '20250502T020000Z', '20250501T020000Z'].map((id) => ({
    id,
    complete: true,
    createdAt: '',
    ageSeconds: 0,
  }));
  const policy: RetentionPolicy = { kind: 'gfs', daily: 2, weekly: 0, monthly: 0 };
  assert.deepEqual(doomedBackups(listed, '20250503T020000Z', { policy, pinned: [] }), ['20250501T020000Z']);
  // The dry run and the real run both ask this, with what the history pins.
  assert.deepEqual(doomedBackups(listed, '20250503T020000Z', { policy, pinned: ['20250501T020000Z'] }), []);
});

test('a restore point odp rollback needs is kept, and counts for no period', () => {
  const nightly = daysFrom('2025-05-01', '2025-05-09').map((d) => made(`${d}T02:00:00`));
  // Taken before a deploy at 01:00 on the 9th: the nightly backup an hour later is that day's newest.
  const restorePoint = made('2025-05-09T01:00:00');
  const listed = [...nightly, restorePoint];
  const justMade = nightly.at(-1)!;
  const policy: RetentionPolicy = { kind: 'gfs', daily: 3, weekly: 0, monthly: 0 };
  assert.ok(retentionDoomed(listed, justMade.id, policy).includes(restorePoint.id), 'by the policy alone');
  const doomed = retentionDoomed(listed, justMade.id, policy, [restorePoint.id]);
  assert.deepEqual(doomed, nights(...daysFrom('2025-05-01', '2025-05-06')));
  // A month-old restore point keeps no failed backup's leftovers newer than it.
  const old = made('2025-04-01T01:00:00');
  const failed = made('2025-04-15T03:00:00', false);
  const withOld = retentionDoomed([...listed, old, failed], justMade.id, policy, [old.id]);
  assert.ok(withOld.includes(failed.id) && !withOld.includes(old.id));
});
