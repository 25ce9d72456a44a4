// The schedule's memory in the state database: when each job was first known,
// who runs it now, and its runs. A run is claimed by one process at a time (the
// server's tick, or `odp schedule run`); a claim left by a process that died is
// taken over, as a lock is (platform-lock.ts).
import { hostname } from 'node:os';
import type { StateDb } from './db.js';
import { processAlive } from './process-alive.js';

export type RunOutcome = 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface ScheduleRun {
  id: number;
  key: string;
  startedAt: string;
  finishedAt: string | null;
  outcome: RunOutcome;
  catchUp: boolean;
  detail: string | null;
}

export interface JobRecord {
  key: string;
  firstSeen: string;
  /** Set while a process runs it. */
  running?: { since: string; pid: number; host: string };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The job's record, made (first seen now) when new. */
export function knowJob(db: StateDb, key: string, now: number): JobRecord {
  db.prepare('INSERT OR IGNORE INTO schedule_jobs (key, first_seen) VALUES (?, ?)').run(key, iso(now));
  return jobRecord(db, key)!;
}

/** The job's record; undefined when the schedule has never run it (read: nothing is written). */
export function jobRecord(db: StateDb, key: string): JobRecord | undefined {
  const r = db
    .prepare(
      'SELECT key, first_seen, running_since, runner_pid, runner_host FROM schedule_jobs WHERE key = ?',
    )
    .get(key) as
    | {
        key: string;
        first_seen: string;
        running_since: string | null;
        runner_pid: number | null;
        runner_host: string | null;
      }
    | undefined;
  if (!r) return undefined;
  return {
    key: r.key,
    firstSeen: r.first_seen,
    ...(r.running_since
      ? { running: { since: r.running_since, pid: r.runner_pid ?? 0, host: r.runner_host ?? '' } }
      : {}),
  };
}

/**
 * Claims the job for this process and opens its run; undefined when another
 * live process runs it. A claim whose process is gone from this machine is
 * taken over, its run marked interrupted.
 */
export function claimRun(db: StateDb, key: string, now: number, catchUp: boolean): number | undefined {
  return db.transaction(() => {
    const job = knowJob(db, key, now);
    if (job.running) {
      const dead = job.running.host === hostname() && !processAlive(job.running.pid);
      if (!dead) return undefined;
      db.prepare(
        "UPDATE schedule_runs SET outcome = 'interrupted', finished_at = ?, detail = 'its process ended before it did' WHERE key = ? AND outcome = 'running'",
      ).run(iso(now), key);
    }
    db.prepare(
      'UPDATE schedule_jobs SET running_since = ?, runner_pid = ?, runner_host = ? WHERE key = ?',
    ).run(iso(now), process.pid, hostname(), key);
    return Number(
      db
        .prepare("INSERT INTO schedule_runs (key, started_at, outcome, catch_up) VALUES (?, ?, 'running', ?)")
        .run(key, iso(now), catchUp ? 1 : 0).lastInsertRowid,
    );
  })();
}

/** Closes the run and lets the job go. */
export function finishRun(
  db: StateDb,
  id: number,
  key: string,
  now: number,
  outcome: 'succeeded' | 'failed',
  detail: string,
): void {
  db.transaction(() => {
    db.prepare('UPDATE schedule_runs SET outcome = ?, finished_at = ?, detail = ? WHERE id = ?').run(
      outcome,
      iso(now),
      detail.slice(0, 2000),
      id,
    );
    db.prepare(
      'UPDATE schedule_jobs SET running_since = NULL, runner_pid = NULL, runner_host = NULL WHERE key = ?',
    ).run(key);
  })();
}

const RUN_COLUMNS = `id, key, started_at AS startedAt, finished_at AS finishedAt, outcome,
  catch_up AS catchUp, detail`;

function toRun(r: Omit<ScheduleRun, 'catchUp'> & { catchUp: number }): ScheduleRun {
  return { ...r, catchUp: r.catchUp === 1 };
}

/** The job's newest runs, newest first. */
export function runsOf(db: StateDb, key: string, limit = 20): ScheduleRun[] {
  return (
    db
      .prepare(`SELECT ${RUN_COLUMNS} FROM schedule_runs WHERE key = ? ORDER BY id DESC LIMIT ?`)
      .all(key, limit) as (Omit<ScheduleRun, 'catchUp'> & { catchUp: number })[]
  ).map(toRun);
}

/** The newest run that ended (succeeded or failed): what the next slot counts from. */
export const lastEnded = (db: StateDb, key: string): ScheduleRun | undefined =>
  newestRun(db, key, ['succeeded', 'failed']);

/** The newest run that succeeded, however many failed since. */
export const lastSucceeded = (db: StateDb, key: string): ScheduleRun | undefined =>
  newestRun(db, key, ['succeeded']);

function newestRun(db: StateDb, key: string, outcomes: RunOutcome[]): ScheduleRun | undefined {
  const r = db
    .prepare(
      `SELECT ${RUN_COLUMNS} FROM schedule_runs WHERE key = ? AND outcome IN (${outcomes.map(() => '?').join(', ')})
       ORDER BY id DESC LIMIT 1`,
    )
    .get(key, ...outcomes) as (Omit<ScheduleRun, 'catchUp'> & { catchUp: number }) | undefined;
  return r && toRun(r);
}
