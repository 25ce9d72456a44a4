// `odp drill PROJECT [INSTANCE]`: a restore drill now (what the weekly
// `restore-drill:<project>` job runs), and `odp drills PROJECT`: the drills
// recorded so far.
import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import { handler, withExamples, withJson } from './command.js';
import { FLAGS } from './conventions.js';
import { makeProgress } from './progress.js';

interface DrillFlags {
  backup?: string;
  dryRun?: boolean;
  json?: boolean;
  passphraseFile?: string;
}

export function registerDrill(program: Command): void {
  withExamples(
    withJson(
      program
        .command('drill <project> [instance]')
        .description(
          'restore a backup into a scratch database and check it (row counts, attachments, Odoo starts); production is untouched',
        )
        .option('--backup <id>', 'the backup to drill (default: the newest complete one)')
        .option(FLAGS.dryRun.flags, 'print which backup would be restored where, and change nothing')
        .option('--passphrase-file <file>', 'secrets passphrase file'),
    ),
    [
      'odp drill neomedical',
      'odp drill neomedical integration --backup 20260223T101502Z',
      'odp drill neomedical --json',
    ],
  )
    .addHelpText(
      'after',
      `
The instance is prod, or integration when the project has no prod. Its newest
complete backup is restored into a scratch database on the tier's PostgreSQL
(the dump checked against its SHA-256), then checked: the key tables hold the
rows counted when the backup was taken, every attachment the data references
exists, and Odoo (the image at the backup's version) starts on it. The scratch
database is dropped at the end, whatever happened. Each drill is recorded with
each phase's duration and the data's age (\`odp drills\`). Exits 1 when a check
failed; \`odp serve\` runs it weekly as restore-drill:<project> (schedule.drills).`,
    )
    .action(
      handler(async (ctx, project: string, instance: string | undefined, o: DrillFlags) => {
        const opts = {
          dir: ctx.dir,
          project,
          ...(instance ? { instance } : {}),
          ...(o.backup ? { backup: o.backup } : {}),
          ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
        };
        const { age } = await import('./table.js');
        if (o.dryRun) {
          const { drillPlan } = await import('../ops/backup/drill.js');
          const p = await drillPlan(opts);
          ctx.out.data({ dryRun: true, ...p });
          ctx.out.line(
            `would drill ${p.project}/${p.instance} with backup ${p.backup} (${age(p.dataAgeSeconds)} old)`,
          );
          ctx.out.line(`  restore into  ${p.scratch} on ${p.server}, then drop it`);
          ctx.out.line(
            `  row counts    ${p.rowCounts ? 'compared with the backup’s' : 'skipped: the backup has none'}`,
          );
          ctx.out.line(`  Odoo          version ${p.imageVersion ?? '(the spec’s)'} started on it`);
          ctx.out.note('dry run: nothing changed');
          return 0;
        }
        const { restoreDrill } = await import('../ops/backup/drill.js');
        const { failureMessage } = await import('../ops/backup/drill-model.js');
        const { openRuntime } = await import('../runtime.js');
        const { engine } = await openRuntime(ctx.dir);
        const progress = makeProgress();
        let r;
        try {
          r = await restoreDrill(engine, { ...opts, progress });
        } finally {
          progress.stop();
        }
        ctx.out.data(r);
        ctx.out.line(`restore drill of ${r.project}/${r.instance}: ${r.outcome}`);
        ctx.out.line(
          `  backup     ${r.backup ?? 'none'}${r.dataAgeSeconds === null ? '' : ` (data ${age(r.dataAgeSeconds)} old)`}`,
        );
        for (const p of r.phases)
          ctx.out.line(
            `  ${p.name.padEnd(11)}${p.outcome.padEnd(8)}${String(p.seconds).padStart(7)} s  ${p.detail}`,
          );
        ctx.out.line(`  total      ${r.seconds} s`);
        if (r.outcome === 'passed') return ExitCode.ok;
        ctx.out.note(failureMessage(r));
        return ExitCode.failure;
      }),
    );

  withExamples(
    withJson(
      program
        .command('drills <project> [instance]')
        .description('the restore drills recorded, newest first: outcome, duration, data age'),
    ),
    ['odp drills neomedical', 'odp drills neomedical prod --json'],
  ).action(
    handler(async (ctx, project: string, instance: string | undefined) => {
      const { openState } = await import('../state/db.js');
      const { drillsOf } = await import('../state/drills.js');
      const { age, paintState, table } = await import('./table.js');
      const db = openState(ctx.dir);
      try {
        const drills = drillsOf(db, project, instance);
        ctx.out.data({ project, drills });
        if (drills.length === 0) ctx.out.line(`no restore drill of ${project} recorded`);
        const rows = drills.map((d) => [
          d.startedAt.slice(0, 16).replace('T', ' '),
          d.instance,
          d.backup ?? '',
          paintState(d.outcome),
          `${d.seconds} s`,
          d.dataAgeSeconds === null ? '' : `data ${age(d.dataAgeSeconds)} old`,
        ]);
        for (const l of table(rows, { right: [4] })) ctx.out.line(l);
        return 0;
      } finally {
        db.close();
      }
    }),
  );
}
