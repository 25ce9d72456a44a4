// `odp serve`'s GET /metrics: the schedule as Prometheus reads it, for the
// alerts on backups, restore drills and failing jobs (monitoring/alerts.yml).
// Read from the state database at each scrape, so the
// numbers are those `odp schedule` prints, whoever ran the job.
import type { ServerResponse } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import type { ScheduleRunner } from '../schedule/runner.js';

/** The job's kind: its key up to the first colon (`backup:acme:prod` → backup). */
const kindOf = (key: string): string => key.split(':')[0] ?? key;

export function scheduleMetrics(runner: Pick<ScheduleRunner, 'status'>): {
  registry: Registry;
  refresh(): Promise<void>;
  serve(res: ServerResponse): void;
} {
  const registry = new Registry();
  // `job_key`, not `job`: Prometheus gives every scraped series a `job` of its own.
  const labelNames = ['job_key', 'kind'] as const;
  const gauge = (suffix: string, help: string) =>
    new Gauge({ name: `odp_scheduled_job_${suffix}`, help, labelNames, registers: [registry] });
  const lastSuccess = gauge(
    'last_success_timestamp_seconds',
    'When the newest run of the job that succeeded started (Unix time)',
  );
  const lastRun = gauge(
    'last_run_timestamp_seconds',
    'When the newest run of the job that ended started (Unix time)',
  );
  const failures = gauge('failures_in_a_row', 'Runs of the job that failed since its last success');
  const running = gauge('running', '1 while a run of the job is under way');
  /** One read of the schedule for every gauge, before each scrape. */
  const refresh = async () => {
    const jobs = await runner.status();
    for (const g of [lastSuccess, lastRun, failures, running]) g.reset();
    for (const j of jobs) {
      const labels = { job_key: j.key, kind: kindOf(j.key) };
      failures.set(labels, j.failuresInARow);
      running.set(labels, j.running ? 1 : 0);
      if (j.last) lastRun.set(labels, Date.parse(j.last.startedAt) / 1000);
      if (j.lastSuccess) lastSuccess.set(labels, Date.parse(j.lastSuccess) / 1000);
    }
  };
  return {
    registry,
    refresh,
    serve(res) {
      refresh()
        .then(() => registry.metrics())
        .then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (e: unknown) =>
            res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`),
        );
    },
  };
}
