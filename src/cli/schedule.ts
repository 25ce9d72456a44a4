// `odp schedule`: the scheduled work `odp serve` runs (nightly backups,
// certificate renewal, branch expiry), when each runs next and how its last run
// ended; `odp schedule run KEY` runs one now, through the same claim as the
// server, so the two never run one job at once.
import type { Command } from 'commander';
import { ExitCode, OdpError } from '../errors.js';
import { handler, withExamples, withJson } from './command.js';
import { FLAGS } from './conventions.js';

async function openSchedule(dir: string, renewEveryHours = 12) {
  const { openRuntime } = await import('../runtime.js');
  const { platformJobs } = await import('../server/scheduled.js');
  const { ScheduleRunner } = await import('../schedule/runner.js');
  const { openState } = await import('../state/db.js');
  const { engine, edge } = await openRuntime(dir);
  const db = openState(dir);
  const jobs = () => platformJobs({ engine, dir, edge, renewEveryMs: renewEveryHours * 3_600_000 });
  return { db, jobs, runner: new ScheduleRunner({ db, jobs }) };
}

export function registerSchedule(program: Command): void {
  const schedule = withExamples(
    withJson(
      program
        .command('schedule')
        .description("the scheduled work `odp serve` runs: each job's next run and how its last one ended"),
    ),
    ['odp schedule', 'odp schedule --json', 'odp schedule run backup:neomedical:prod'],
  )
    .addHelpText(
      'after',
      `
Jobs: backup:<project>:<instance> nightly for every integration and prod instance
(schedule.backups in platform.yaml: a window; each instance's time is its own inside
it, the same every night), restore-drill:<project> weekly (schedule.drills; odp drill),
certificates (renewal, every 12 h), branch-expiry (hourly).
A run missed while \`odp serve\` was down is made once when it is back. Exits 1 when
the last run of any job failed.`,
    )
    .action(
      handler(async (ctx) => {
        const { db, runner } = await openSchedule(ctx.dir);
        try {
          const jobs = await runner.status();
          ctx.out.data({ jobs });
          const { paintState, table } = await import('./table.js');
          const rows = jobs.map((j) => [
            j.key,
            j.cadence,
            j.running
              ? 'running now'
              : `next ${j.nextRun.slice(0, 16).replace('T', ' ')}${j.catchUp ? ' (catch-up)' : ''}`,
            j.last
              ? `${paintState(j.last.outcome)} ${j.last.startedAt.slice(0, 16).replace('T', ' ')}`
              : 'never ran',
          ]);
          for (const line of table([['JOB', 'WHEN', 'NEXT', 'LAST'], ...rows])) ctx.out.line(line);
          const failing = jobs.filter((j) => j.last?.outcome === 'failed');
          for (const j of failing) ctx.out.line(`failed: ${j.key}: ${j.last?.detail ?? ''}`);
          return failing.length ? ExitCode.failure : ExitCode.ok;
        } finally {
          db.close();
        }
      }),
    );

  withExamples(
    withJson(
      schedule
        .command('run <key>')
        .description('run one scheduled job now and wait for it (`odp schedule` lists the keys)')
        .option(FLAGS.dryRun.flags, FLAGS.dryRun.description),
    ),
    ['odp schedule run certificates', 'odp schedule run backup:neomedical:prod --dry-run'],
  ).action(
    handler(async (ctx, key: string, o: { dryRun?: boolean }) => {
      const { db, jobs, runner } = await openSchedule(ctx.dir);
      try {
        const all = await jobs();
        const job = all.find((j) => j.key === key);
        if (!job) {
          throw new OdpError('NOT_FOUND', `no scheduled job ${key}`, {
            hint: `The jobs: ${all.map((j) => j.key).join(', ')}`,
          });
        }
        if (o.dryRun) {
          ctx.out.data({ key, what: job.what, dryRun: true });
          ctx.out.line(`would run ${key}: ${job.what}`);
          ctx.out.note('dry run: nothing changed');
          return 0;
        }
        const run = await runner.runNow(job);
        if (!run)
          throw new OdpError('BUSY', `${key} is running already (odp serve, or another odp schedule run)`);
        ctx.out.data({ run });
        ctx.out.line(`${key}: ${run.outcome}: ${run.detail ?? ''}`);
        return run.outcome === 'succeeded' ? ExitCode.ok : ExitCode.failure;
      } finally {
        db.close();
      }
    }),
  );
}
