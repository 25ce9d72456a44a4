import type { Command } from 'commander';
import { OdpError } from '../errors.js';
import { checked, handler, wholeNumber, withJson } from './command.js';

export function registerJobs(program: Command): void {
  withJson(
    program
      .command('jobs')
      .description(
        'the deploy queue of `odp serve`: what webhooks queued, what ran, what waits and why; deliveries ignored, and why',
      )
      .option(
        '--limit <n>',
        'how many, newest first',
        checked((v) => wholeNumber(v, '--limit', 1, 100_000)),
        30,
      )
      .option('--state <state>', 'only jobs in this state: queued, running, succeeded, failed, superseded')
      .option('--project <name>', "only this project's jobs"),
  )
    .addHelpText(
      'after',
      "\nWithout --state or --project it also lists the latest webhook deliveries that\nqueued nothing, and why (a repository no project names, an unused event…).\n\nExamples:\n  odp jobs\n  odp jobs --state queued\n  odp jobs --project neomedical --json\n  odp jobs --json | jq '.ignored[] | .detail'",
    )
    .action(
      handler(async (ctx, o: { limit: number; state?: string; project?: string }) => {
        const { openState } = await import('../state/db.js');
        const { ignoredDeliveries, jobStates, listJobs, queueCounts } = await import('../state/jobs.js');
        const state = jobStates.find((s) => s === o.state);
        if (o.state !== undefined && !state) {
          throw new OdpError('USAGE', `--state must be one of ${jobStates.join(', ')}`);
        }
        const db = openState(ctx.dir);
        try {
          const jobs = listJobs(db, {
            limit: o.limit,
            ...(state ? { state } : {}),
            ...(o.project ? { project: o.project } : {}),
          });
          const counts = queueCounts(db);
          // Deliveries that queued nothing, with why: "my push deployed nothing" is answered here.
          const ignored = o.project || state ? [] : ignoredDeliveries(db, 10);
          ctx.out.data({ counts, jobs, ignored });
          ctx.out.line(
            Object.entries(counts)
              .map(([k, v]) => `${v} ${k}`)
              .join(', '),
          );
          const { table, paintState } = await import('./table.js');
          const lines = table(
            jobs.map((j) => [
              `#${j.id}`,
              paintState(j.state),
              `${j.project}/${j.instance}`,
              j.kind,
              typeof j.payload.sha === 'string' ? j.payload.sha.slice(0, 12) : '',
              `attempts ${j.attempts}`,
              j.state === 'queued'
                ? `not before ${j.notBefore.slice(0, 19)}Z`
                : (j.finishedAt ?? j.startedAt ?? j.createdAt).slice(0, 19) + 'Z',
            ]),
          );
          jobs.forEach((j, i) => {
            ctx.out.line(lines[i]);
            if (j.detail) ctx.out.line(`    ${j.detail}`);
          });
          if (ignored.length) ctx.out.line('ignored deliveries, newest first:');
          for (const d of ignored) {
            ctx.out.line(
              `  ${d.receivedAt.slice(0, 19)}Z ${d.source} ${d.event} ${d.id}\n    ignored: ${d.detail ?? '(no reason recorded)'}`,
            );
          }
          return 0;
        } finally {
          db.close();
        }
      }),
    );
}
