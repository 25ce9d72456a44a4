// Runs the schedule: on each tick, every job whose slot has come (cadence.ts)
// is claimed in the state database and run, at most `parallel` at once, never
// two runs of one job (a claim held by a live process is left alone, by this
// server or by `odp schedule run`). The jobs are asked for on every tick, so a
// project added to the spec gets its backups without a restart. The clock is
// given: tests move time themselves.
import type { StateDb } from '../state/db.js';
import {
  claimRun,
  finishRun,
  jobRecord,
  knowJob,
  lastEnded,
  lastSucceeded,
  runsOf,
  type ScheduleRun,
} from '../state/schedule.js';
import { describeCadence, nextDue, type Cadence } from './cadence.js';

export interface ScheduledJob {
  key: string;
  cadence: Cadence;
  /** What it does, for `odp schedule`. */
  what: string;
  /** Runs it; the text says what it did. A throw is the run's failure. */
  run(): Promise<string>;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface JobStatus {
  key: string;
  what: string;
  cadence: string;
  nextRun: string;
  /** The next run is a catch-up of a slot missed while nothing ran the schedule. */
  catchUp: boolean;
  running: boolean;
  last?: ScheduleRun;
  /** When the newest run that succeeded started: what a backup's age is counted from. */
  lastSuccess?: string;
  /** Failed runs since the last success: what an alert counts. */
  failuresInARow: number;
}

export type ScheduleLog = (line: Record<string, unknown>) => void;

export class ScheduleRunner {
  private readonly active = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: {
      db: StateDb;
      jobs: () => Promise<ScheduledJob[]>;
      clock?: Clock;
      log?: ScheduleLog;
      /** Runs of different jobs at once (default 2). */
      parallel?: number;
    },
  ) {}

  private get now(): number {
    return (this.o.clock ?? systemClock).now();
  }

  /** Ticks every `everyMs` until stopped (the first at once). */
  start(everyMs = 30_000): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), everyMs);
    this.timer.unref();
  }

  /** Stops ticking; resolves when the runs under way have ended. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.active.values());
  }

  /** Starts every job that is due and not running; resolves once they are started (not ended). */
  async tick(): Promise<string[]> {
    const started: string[] = [];
    for (const job of await this.jobsOrNone()) {
      if (this.active.size >= (this.o.parallel ?? 2)) break;
      if (this.active.has(job.key)) continue;
      const due = this.due(job, true);
      if (due.at > this.now) continue;
      if (this.begin(job, due.catchUp)) started.push(job.key);
    }
    return started;
  }

  /** Waits for the runs under way (tests; `odp schedule run`). */
  async idle(): Promise<void> {
    while (this.active.size) await Promise.all(this.active.values());
  }

  /**
   * Runs one job now, whatever its slot, and waits for it. False when another
   * run of it is under way (here or in another process).
   */
  async runNow(job: ScheduledJob): Promise<ScheduleRun | undefined> {
    if (this.active.has(job.key) || !this.begin(job, false)) return undefined;
    await this.active.get(job.key);
    return runsOf(this.o.db, job.key, 1)[0];
  }

  async status(): Promise<JobStatus[]> {
    return (await this.jobsOrNone()).map((job) => {
      const due = this.due(job, false);
      const runs = runsOf(this.o.db, job.key, 50);
      const ended = runs.filter((r) => r.outcome !== 'running');
      const firstOk = ended.findIndex((r) => r.outcome === 'succeeded');
      const last = ended[0];
      const success = lastSucceeded(this.o.db, job.key);
      return {
        key: job.key,
        what: job.what,
        cadence: describeCadence(job.cadence),
        nextRun: new Date(due.at).toISOString(),
        catchUp: due.catchUp,
        running: runs[0]?.outcome === 'running',
        ...(last ? { last } : {}),
        ...(success ? { lastSuccess: success.startedAt } : {}),
        failuresInARow: (firstOk === -1 ? ended : ended.slice(0, firstOk)).filter(
          (r) => r.outcome === 'failed',
        ).length,
      };
    });
  }

  /** When the job is due; `record`: the schedule takes it on from now (a status only reads). */
  private due(job: ScheduledJob, record: boolean) {
    const known = record ? knowJob(this.o.db, job.key, this.now) : jobRecord(this.o.db, job.key);
    const last = lastEnded(this.o.db, job.key);
    return nextDue(job.cadence, job.key, {
      ...(last ? { lastRun: Date.parse(last.startedAt) } : {}),
      since: known ? Date.parse(known.firstSeen) : this.now,
      now: this.now,
    });
  }

  private async jobsOrNone(): Promise<ScheduledJob[]> {
    try {
      return await this.o.jobs();
    } catch (e) {
      // A spec that does not load stops no schedule: the next tick reads it again.
      this.o.log?.({ event: 'schedule-unreadable', detail: (e as Error).message });
      return [];
    }
  }

  /** Claims and starts the run; false when another process holds the job. */
  private begin(job: ScheduledJob, catchUp: boolean): boolean {
    const id = claimRun(this.o.db, job.key, this.now, catchUp);
    if (id === undefined) return false;
    this.o.log?.({ event: 'scheduled-start', job: job.key, ...(catchUp ? { catchUp } : {}) });
    const run = (async () => {
      let outcome: 'succeeded' | 'failed' = 'succeeded';
      let detail: string;
      try {
        detail = await job.run();
      } catch (e) {
        outcome = 'failed';
        detail = (e as Error).message;
      }
      finishRun(this.o.db, id, job.key, this.now, outcome, detail);
      this.o.log?.({ event: 'scheduled-end', job: job.key, outcome, detail });
    })().finally(() => this.active.delete(job.key));
    this.active.set(job.key, run);
    return true;
  }
}
