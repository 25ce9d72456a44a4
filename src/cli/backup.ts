import type { Command } from 'commander';
import { stackName } from '../compose/instance.js';
import { handler, withJson } from './command.js';
import { FLAGS } from './conventions.js';
import { confirmDestroy } from './confirm.js';
import { silentProgress } from '../progress.js';
import { makeProgress } from './progress.js';

export function registerBackup(program: Command): void {
  withJson(
    program
      .command('backup <project> <instance>')
      .description('back up an integration or prod instance: its database (pg_dump) and its attachments')
      .option(FLAGS.dryRun.flags, 'print what would be read, where it would go and which old backups go')
      .option('--passphrase-file <file>', 'secrets passphrase file'),
  )
    .addHelpText(
      'after',
      `
Streams a pg_dump (custom format, made inside the tier's PostgreSQL container) and
a copy of every attachment object into the platform's backups bucket
(backups.bucket, default <platform>-backups), under <project>/<instance>/<id>/,
then applies retention: the newest backup of each of the last 7 days, 4 weeks
and 3 months that have one is kept (backups.retention, or the instance's plan's
backups), with the restore point of \`odp rollback\`; the others are deleted.

Examples:
  odp backup neomedical prod --dry-run
  odp backup neomedical prod
  odp backup neomedical integration --json`,
    )
    .action(
      handler(
        async (
          ctx,
          project: string,
          instance: string,
          o: { passphraseFile?: string; json?: boolean; dryRun?: boolean },
        ) => {
          if (o.dryRun) {
            const { backupPlan } = await import('../ops/backup/backup-plan.js');
            const { describeRetention } = await import('../plan/retention.js');
            const plan = await backupPlan(ctx.dir, project, instance, o);
            ctx.out.data({ dryRun: true, ...plan });
            ctx.out.line(`would back up ${plan.project}/${plan.instance}`);
            ctx.out.line(`  database     ${plan.database}  (pg_dump in ${plan.unit})`);
            ctx.out.line(`  attachments  every object of ${plan.attachments}`);
            ctx.out.line(`  into         ${plan.destination}`);
            ctx.out.line(
              `  then keep    ${describeRetention(plan.retention)}: ${plan.deletes.length ? `delete ${plan.deletes.join(', ')}` : 'nothing to delete'}`,
            );
            if (plan.pinned.length)
              ctx.out.line(`  and keep     ${plan.pinned.join(', ')} (the restore point of odp rollback)`);
            ctx.out.note('dry run: nothing changed');
            return 0;
          }
          // Loaded on use: the S3 and PostgreSQL clients would slow every other command's start.
          const { formatBytes, takeBackup } = await import('../ops/backup/backup.js');
          const { openRuntime } = await import('../runtime.js');
          const { engine } = await openRuntime(ctx.dir);
          const progress = makeProgress();
          try {
            const r = await takeBackup(engine, ctx.dir, project, instance, { ...o, progress });
            progress.stop();
            const m = r.manifest;
            ctx.out.data({
              id: r.id,
              bucket: r.bucket,
              manifest: m,
              deleted: r.deleted,
              ...(r.retentionError ? { retentionError: r.retentionError } : {}),
            });
            ctx.out.line(`backed up ${project}/${m.instance} as ${r.id}`);
            ctx.out.line(`  database     ${m.database}  ${formatBytes(m.dump.bytes)}`);
            ctx.out.line(
              `  attachments  ${m.attachments.objects} objects  ${formatBytes(m.attachments.bytes)}`,
            );
            ctx.out.line(`  version      ${m.imageVersion ?? 'unknown'}`);
            ctx.out.line(`  stored in    ${r.bucket}/${project}/${m.instance}/${r.id}/`);
            if (r.deleted.length) ctx.out.line(`  deleted      ${r.deleted.join(', ')} (retention)`);
            if (r.retentionError) ctx.out.note(`warning: old backups were not deleted: ${r.retentionError}`);
            return 0;
          } finally {
            progress.stop();
          }
        },
      ),
    );

  withJson(
    program
      .command('backups <project> <instance>')
      .description("an instance's backups, newest first, read from the backups bucket")
      .option('--passphrase-file <file>', 'secrets passphrase file'),
  )
    .addHelpText('after', '\nExamples:\n  odp backups neomedical prod\n  odp backups neomedical prod --json')
    .action(
      handler(async (ctx, project: string, instance: string, o: { passphraseFile?: string }) => {
        const { formatBytes, instanceBackups } = await import('../ops/backup/backup.js');
        const r = await instanceBackups(ctx.dir, project, instance, o);
        ctx.out.data(r);
        if (r.backups.length === 0) ctx.out.line(`no backups of ${project}/${r.instance} in ${r.bucket}`);
        const { age, table } = await import('./table.js');
        const rows = r.backups.map((b) => [
          b.id,
          b.bytes === undefined ? '' : formatBytes(b.bytes),
          `${age(b.ageSeconds)} ago`,
          b.complete ? `${b.attachments?.objects ?? 0} attachments` : 'incomplete',
          b.complete ? `version ${b.imageVersion ?? 'unknown'}` : '',
        ]);
        for (const l of table(rows, { right: [1, 2] })) ctx.out.line(l);
        return 0;
      }),
    );

  withJson(
    program
      .command('restore <project> <instance> <backup>')
      .description("replace an instance's database with a backup's, and bring back its attachments")
      .option('--dry-run', 'print the plan and change nothing (nothing is asked)')
      .option('-y, --yes', 'do not ask')
      .option('--confirm <stack>', 'the stack name, typed out')
      .option('--passphrase-file <file>', 'secrets passphrase file'),
  )
    .addHelpText(
      'after',
      `
Stops the instance's Odoo units, copies back the attachment objects its bucket
lacks, restores the dump into a scratch database (pg_restore as the instance's
role), swaps it in for the instance's database, and starts the units again.
A failure leaves the database as it was, and says what else it did.

Examples:
  odp backups neomedical prod
  odp restore neomedical prod 20260223T101502Z --dry-run
  odp restore neomedical prod 20260223T101502Z
  odp restore neomedical integration 20260223T101502Z --yes --confirm neomedical-odoo-integration`,
    )
    .action(
      handler(
        async (
          ctx,
          project: string,
          instance: string,
          backup: string,
          o: { dryRun?: boolean; yes?: boolean; confirm?: string; passphraseFile?: string; json?: boolean },
        ) => {
          const { formatBytes, parseTier } = await import('../ops/backup/backup.js');
          const { restoreInstance, restorePlan } = await import('../ops/backup/backup-restore.js');
          const { openRuntime } = await import('../runtime.js');
          const { loadPlatformDir, requireProject } = await import('../platformdir/load.js');
          const { printDryRun, recordedPlanRun } = await import('./data-plan.js');
          const tier = parseTier(instance, 'restore');
          const pd = await loadPlatformDir(ctx.dir);
          const name = stackName(requireProject(pd, project).spec, tier);
          const { engine } = await openRuntime(pd);
          const opts = { ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}) };
          if (o.dryRun)
            return printDryRun(
              ctx,
              await restorePlan(engine, ctx.dir, project, tier, backup, {
                ...opts,
                progress: silentProgress,
              }),
            );
          await confirmDestroy({
            what: `the current database of ${name} (replaced by backup ${backup})`,
            typeToConfirm: name,
            yes: o.yes,
            confirm: o.confirm,
          });
          // Recorded in the instance's history like a deploy: who restored what, each step, its plan.
          const r = await recordedPlanRun(ctx, { project, instance: tier, kind: 'restore' }, o.json, (run) =>
            restoreInstance(engine, ctx.dir, project, tier, backup, { ...opts, ...run }),
          );
          ctx.out.data(r);
          ctx.out.line(`restored ${project}/${tier} from ${r.id}`);
          ctx.out.line(`  database     ${r.database}  ${formatBytes(r.dumpBytes)} dump`);
          ctx.out.line(`  attachments  ${r.attachmentsCopied} missing objects copied back`);
          if (r.restarted.length) ctx.out.line(`  restarted    ${r.restarted.join(', ')}`);
          if (r.previousDatabaseKept)
            ctx.out.note(
              `warning: the replaced database is kept as ${r.previousDatabaseKept}; drop it once you are sure`,
            );
          return 0;
        },
      ),
    );
}
