// Scheduled work of `odp serve`: each job runs at start and then every
// `everyMs`, never twice at once, and a failing run is logged, not fatal: the
// next one tries again.
export interface Job {
  name: string;
  everyMs: number;
  run(): Promise<string>;
}

export interface JobState {
  name: string;
  lastRun?: string;
  lastOutcome?: 'ok' | 'failed';
  lastDetail?: string;
  nextRun: string;
}

export class Scheduler {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly states = new Map<string, JobState>();
  private readonly running = new Set<string>();

  constructor(
    private readonly jobs: Job[],
    private readonly log: (line: Record<string, unknown>) => void,
  ) {}

  start(): void {
    for (const job of this.jobs) {
      this.states.set(job.name, { name: job.name, nextRun: new Date().toISOString() });
      void this.tick(job);
      const t = setInterval(() => void this.tick(job), job.everyMs);
      t.unref();
      this.timers.push(t);
    }
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  status(): JobState[] {
    return [...this.states.values()];
  }

  private async tick(job: Job): Promise<void> {
    if (this.running.has(job.name)) return;
    this.running.add(job.name);
    const state = this.states.get(job.name)!;
    try {
      const detail = await job.run();
      Object.assign(state, { lastOutcome: 'ok', lastDetail: detail });
      this.log({ job: job.name, outcome: 'ok', detail });
    } catch (e) {
      Object.assign(state, { lastOutcome: 'failed', lastDetail: (e as Error).message });
      this.log({ job: job.name, outcome: 'failed', detail: (e as Error).message });
    } finally {
      state.lastRun = new Date().toISOString();
      state.nextRun = new Date(Date.now() + job.everyMs).toISOString();
      this.running.delete(job.name);
    }
  }
}
