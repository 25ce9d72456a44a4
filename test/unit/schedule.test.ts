// The schedule with a clock of the test's own: slots inside their window,
// spread by key; a slot missed while the server was down run once on its
// return; no two runs of one job, in one process or across two; the history.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  describeCadence,
  firstDueAfter,
  jitterOf,
  nextDue,
  parseTimeOfDay,
  type Cadence,
} from '../../src/schedule/cadence.js';
import { ScheduleRunner, type ScheduledJob } from '../../src/schedule/runner.js';
import { scheduleMetrics } from '../../src/server/metrics.js';
import { openState, type StateDb } from '../../src/state/db.js';
import { claimRun, runsOf } from '../../src/state/schedule.js';

const H = 3_600_000;
const DAY = 24 * H;
const at = (iso: string) => Date.parse(iso);
const nightly: Cadence = { kind: 'daily', window: { startMinute: 60, minutes: 240 } };

describe('cadence', () => {
  test('a daily slot falls inside its window, stable for a key, spread over keys', () => {
    const slots = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const key = `backup:p${i}:prod`;
      const t = firstDueAfter(nightly, key, at('2026-12-07T12:00:00Z'));
      const minute = (t - at('2026-12-08T00:00:00Z')) / 60_000;
      assert.ok(minute >= 60 && minute < 300, `${key}: ${new Date(t).toISOString()}`);
      assert.equal(firstDueAfter(nightly, key, at('2026-12-07T12:00:00Z')), t, 'stable');
      slots.add(t);
    }
    // 500 keys over 4 hours of whole seconds: nearly all distinct.
    assert.ok(slots.size > 450, `${slots.size} distinct slots`);
    assert.equal(jitterOf('k', 0), 0);
  });

  test('the next slot is after the given time: today when still ahead, else tomorrow', () => {
    const key = 'backup:acme:prod';
    const today = firstDueAfter(nightly, key, at('2026-12-07T00:00:00Z'));
    assert.equal(firstDueAfter(nightly, key, today - 1), today);
    assert.equal(firstDueAfter(nightly, key, today), today + DAY);
  });

  test('a window past midnight, and a weekly slot on its day', () => {
    const late: Cadence = { kind: 'daily', window: { startMinute: 23 * 60, minutes: 240 } };
    for (const key of ['a', 'b', 'c', 'd']) {
      const t = firstDueAfter(late, key, at('2026-12-08T00:30:00Z'));
      assert.ok(t > at('2026-12-08T00:30:00Z') && t - at('2026-12-08T00:30:00Z') <= DAY);
      const m = (((t / 60_000) % 1440) + 1440) % 1440;
      assert.ok(m >= 23 * 60 || m < 3 * 60, `${key}: ${new Date(t).toISOString()}`);
    }
    const sunday: Cadence = { kind: 'weekly', day: 6, window: { startMinute: 120, minutes: 60 } };
    const t = new Date(firstDueAfter(sunday, 'drill:acme', at('2026-12-07T12:00:00Z')));
    assert.equal(t.getUTCDay(), 0); // Sunday
    assert.equal(t.toISOString().slice(0, 10), '2026-12-13');
    assert.equal(t.getUTCHours(), 2);
    assert.equal(describeCadence(sunday), 'weekly on Sunday 02:00–03:00 UTC');
    assert.equal(describeCadence(nightly), 'daily 01:00–05:00 UTC');
    assert.equal(describeCadence({ kind: 'every', ms: H }), 'every 1 h');
  });

  test('missed slots are one catch-up; an interval job never run is due at once', () => {
    const key = 'backup:acme:prod';
    const ran = firstDueAfter(nightly, key, at('2026-12-01T00:00:00Z'));
    // Down for three nights: due now, once.
    const now = at('2026-12-04T15:00:00Z');
    assert.deepEqual(nextDue(nightly, key, { lastRun: ran, since: 0, now }), { at: now, catchUp: true });
    // Ran last night: due tonight.
    const tonight = firstDueAfter(nightly, key, ran + 3 * DAY);
    assert.deepEqual(nextDue(nightly, key, { lastRun: ran + 3 * DAY, since: 0, now }), {
      at: tonight,
      catchUp: false,
    });
    // Never ran, first known yesterday noon, a slot passed since: caught up.
    assert.equal(nextDue(nightly, key, { since: now - DAY, now }).catchUp, true);
    const every: Cadence = { kind: 'every', ms: H };
    assert.deepEqual(nextDue(every, 'certs', { since: now, now }), { at: now, catchUp: false });
    assert.deepEqual(nextDue(every, 'certs', { lastRun: now - 10, since: 0, now }), {
      at: now - 10 + H,
      catchUp: false,
    });
    assert.equal(parseTimeOfDay('01:30'), 90);
    for (const bad of ['1:30', '24:00', '12:60', '', 'noon']) assert.equal(parseTimeOfDay(bad), undefined);
  });
});

describe('the runner', () => {
  let dir: string;
  let db: StateDb;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'odp-schedule-'));
    db = openState(dir);
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A clock the test moves, and a job whose runs the test ends by hand. */
  function setUp(key: string, start: string) {
    const clock = { t: at(start), now: () => clock.t };
    const calls: number[] = [];
    let release: (() => void) | undefined;
    let fail = false;
    const job: ScheduledJob = {
      key,
      what: 'a test job',
      cadence: nightly,
      run: () =>
        new Promise<string>((resolve, reject) => {
          calls.push(clock.t);
          release = () => (fail ? reject(new Error('disk full')) : resolve('done'));
        }),
    };
    const runner = new ScheduleRunner({ db, jobs: async () => [job], clock });
    return {
      clock,
      calls,
      job,
      runner,
      end: async (failing = false) => {
        fail = failing;
        release!();
        await runner.idle();
      },
    };
  }

  test('runs in its slot, not before; once per night; a run under way is not started again', async () => {
    const s = setUp('night', '2026-12-07T00:00:00Z');
    assert.deepEqual(await s.runner.tick(), [], 'nothing before the slot');
    const slot = firstDueAfter(nightly, 'night', s.clock.t);
    s.clock.t = slot - 1;
    assert.deepEqual(await s.runner.tick(), []);
    s.clock.t = slot;
    assert.deepEqual(await s.runner.tick(), ['night']);
    s.clock.t = slot + 60_000;
    assert.deepEqual(await s.runner.tick(), [], 'no overlap with the run under way');
    // Another process (`odp schedule run`) cannot claim it either.
    assert.equal(claimRun(db, 'night', s.clock.t, false), undefined);
    await s.end();
    assert.deepEqual(await s.runner.tick(), [], 'done for tonight');
    s.clock.t = slot + DAY;
    assert.deepEqual(await s.runner.tick(), ['night']);
    await s.end(true);
    const [failed, ok] = runsOf(db, 'night');
    assert.deepEqual([failed?.outcome, failed?.detail, ok?.outcome], ['failed', 'disk full', 'succeeded']);
    const [status] = await s.runner.status();
    assert.equal(status?.failuresInARow, 1);
    assert.equal(status?.lastSuccess, ok?.startedAt);
    // What Prometheus reads (GET /metrics of odp serve): the alerts on backups count from it.
    const metrics = scheduleMetrics(s.runner);
    await metrics.refresh();
    const text = await metrics.registry.metrics();
    const labels = '{job_key="night",kind="night"}';
    assert.match(text, new RegExp(`odp_scheduled_job_failures_in_a_row${labels} 1\\b`));
    assert.match(
      text,
      new RegExp(
        `odp_scheduled_job_last_success_timestamp_seconds${labels} ${Date.parse(ok!.startedAt) / 1000}\\b`,
      ),
    );
    assert.match(text, new RegExp(`odp_scheduled_job_running${labels} 0\\b`));
    assert.equal(status?.last?.outcome, 'failed');
    assert.equal(status?.nextRun, new Date(slot + 2 * DAY).toISOString());
  });

  test('down for three nights: one catch-up at its return, then the normal slot', async () => {
    const s = setUp('catch', '2026-12-07T00:00:00Z');
    assert.deepEqual(await s.runner.tick(), [], 'known from now on');
    const slot = firstDueAfter(nightly, 'catch', s.clock.t);
    s.clock.t = slot;
    assert.deepEqual(await s.runner.tick(), ['catch']);
    await s.end();
    // The server is down; it comes back three days later at noon.
    s.clock.t = slot + 3 * DAY + 6 * H;
    const [status] = await s.runner.status();
    assert.equal(status?.catchUp, true);
    assert.deepEqual(await s.runner.tick(), ['catch']);
    await s.end();
    assert.deepEqual(await s.runner.tick(), [], 'one catch-up, not three');
    assert.equal(runsOf(db, 'catch')[0]?.catchUp, true);
    s.clock.t = slot + 4 * DAY;
    assert.deepEqual(await s.runner.tick(), ['catch']);
    await s.end();
    assert.equal(s.calls.length, 3);
  });

  test('runNow runs at once and waits; refused while a run is under way', async () => {
    const s = setUp('now', '2026-12-07T12:00:00Z');
    const run = s.runner.runNow(s.job);
    await new Promise((r) => setImmediate(r));
    assert.equal(await s.runner.runNow(s.job), undefined);
    await s.end();
    assert.equal((await run)?.outcome, 'succeeded');
  });

  test('a claim left by a process that died is taken over, its run marked interrupted', () => {
    const id = claimRun(db, 'orphan', at('2026-12-07T00:00:00Z'), false)!;
    // As if a dead process held it: the same host, a pid that is gone.
    db.prepare('UPDATE schedule_jobs SET runner_pid = 2147483646 WHERE key = ?').run('orphan');
    assert.ok(claimRun(db, 'orphan', at('2026-12-07T01:00:00Z'), false));
    const runs = runsOf(db, 'orphan');
    assert.deepEqual(
      runs.map((r) => [r.id === id, r.outcome]),
      [
        [false, 'running'],
        [true, 'interrupted'],
      ],
    );
  });
});
