// The worker of `odp serve`: takes due jobs from the queue (src/state/jobs.ts)
// and runs them with the runner of their kind, several instances at once but
// never two jobs of one instance. A runner that cannot run yet (the image of
// the commit is not published) throws RetryLater: the job waits and is tried
// again until its deadline, then fails, recorded.
import type { StateDb } from '../state/db.js';
import { claimNext, finishJob, requeueOrphans, retryLater, type Job } from '../state/jobs.js';

/** Thrown by a runner when the job's precondition does not hold yet. */
export class RetryLater extends Error {}

export type Log = (line: Record<string, unknown>) => void;

/** Runs one job for real; resolves with a one-line detail, throws on failure. */
export type JobRunner = (job: Job, log: Log) => Promise<string | void>;

/** What runs each job kind: injected, so the queue runs the real operations in tests too. */
export type JobRunners = Readonly<Record<string, JobRunner>>;

export interface WorkerOptions {
  db: StateDb;
  runners: JobRunners;
  log: Log;
  /** How often the queue is looked at when nothing wakes the worker. */
  pollMs: number;
  /** How long a job waits before it is tried again. */
  retryEveryMs: number;
  /** Jobs of different instances run at once, up to this many. */
  parallel: number;
}

export class Worker {
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Map<number, Promise<void>>();
  private stopped = false;

  constructor(private readonly o: WorkerOptions) {}

  start(): void {
    const requeued = requeueOrphans(this.o.db);
    if (requeued.length)
      this.o.log({ event: 'jobs-requeued', jobs: requeued, why: 'the server that ran them stopped' });
    this.timer = setInterval(() => this.wake(), this.o.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Looks at the queue now (a job was queued). */
  wake(): void {
    while (!this.stopped && this.running.size < this.o.parallel) {
      let job: Job | undefined;
      try {
        job = claimNext(this.o.db);
      } catch (e) {
        this.o.log({ event: 'queue-error', detail: (e as Error).message });
        return;
      }
      if (!job) return;
      const id = job.id;
      this.running.set(
        id,
        this.run(job).finally(() => this.running.delete(id)),
      );
    }
  }

  /** Takes no new job; resolves when the running ones have ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.running.values());
  }

  busy(): number {
    return this.running.size;
  }

  private async run(job: Job): Promise<void> {
    const { db, log } = this.o;
    const base = { job: job.id, kind: job.kind, project: job.project, instance: job.instance };
    log({ event: 'job-start', ...base, attempt: job.attempts });
    try {
      const runner = this.o.runners[job.kind];
      if (!runner) throw new Error(`no runner for job kind ${job.kind}`);
      const detail = (await runner(job, (line) => log({ ...base, ...line }))) || 'done';
      finishJob(db, job.id, 'succeeded', detail);
      log({ event: 'job-end', ...base, outcome: 'succeeded', detail });
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      const now = Date.now();
      if (
        e instanceof RetryLater &&
        (!job.deadline || now + this.o.retryEveryMs <= Date.parse(job.deadline))
      ) {
        retryLater(db, job.id, new Date(now + this.o.retryEveryMs), reason);
        log({ event: 'job-wait', ...base, attempt: job.attempts, detail: reason });
      } else {
        const detail = e instanceof RetryLater ? `gave up after ${job.attempts} attempts: ${reason}` : reason;
        finishJob(db, job.id, 'failed', detail);
        log({ event: 'job-end', ...base, outcome: 'failed', detail });
      }
    } finally {
      // Its instance is free again: a job queued behind it may start now.
      setImmediate(() => this.wake());
    }
  }
}
