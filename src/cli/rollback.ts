import type { Command } from 'commander';
import type { OperationHandle } from '../state/history.js';
import { checked, handler, positiveNumber, withJson } from './command.js';
import type { Progress } from '../progress.js';
import { makeProgress } from './progress.js';

export function registerRollback(program: Command): void {
  withJson(
    program
      .command('rollback <project> <instance>')
      .description(
        'back to the version before the last deploy (and to its restore point if that deploy migrated)',
      )
      .option('--dry-run', 'print what would be rolled back and change nothing')
      .option('-y, --yes', 'do not ask before restoring the database (the current data is backed up first)')
      .option(
        '--health-timeout <seconds>',
        'how long a replica may take to become healthy',
        checked((v) => positiveNumber(v, '--health-timeout')),
        600,
      )
      .option('--no-wait', 'stop at once if another operation holds the instance')
      .option('--passphrase-file <file>', 'secrets passphrase file'),
  )
    .addHelpText(
      'after',
      `
Examples:
  odp rollback neomedical prod --dry-run   # which version, whether the database is restored
  odp rollback neomedical prod             # asks before restoring the database
  odp rollback neomedical integration --yes`,
    )
    .action(
      handler(
        async (
          ctx,
          project: string,
          instance: string,
          o: {
            dryRun?: boolean;
            yes?: boolean;
            healthTimeout: number;
            wait: boolean;
            passphraseFile?: string;
            json?: boolean;
          },
        ) => {
          const { rollback, rollbackTarget, formatRollbackPlan } = await import('../ops/release/rollback.js');
          const { confirmAction } = await import('./confirm.js');
          const { runOperation } = await import('../ops/operation.js');
          const { openRuntime } = await import('../runtime.js');
          const { engine, edge } = await openRuntime(ctx.dir);
          const progress = makeProgress();
          try {
            const run = (p: Progress, op?: OperationHandle) =>
              rollback(engine, ctx.dir, project, instance, {
                progress: p,
                edge,
                healthTimeoutMs: o.healthTimeout * 1000,
                wait: o.wait,
                ...(o.dryRun ? { dryRun: true } : {}),
                ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
                ...(op ? { operationId: op.id, annotate: op.annotate } : {}),
                onPlan: (plan) => {
                  if (!o.json) progress.note(formatRollbackPlan(plan));
                },
                confirm: (plan) =>
                  confirmAction({
                    question: `Restore the database of ${project}/${instance} to ${plan.restorePoint}? Data written since ${plan.from} was deployed is set aside in a new backup.`,
                    yes: o.yes,
                  }),
              });
            if (o.dryRun) {
              const r = await run(progress);
              progress.stop();
              ctx.out.data(r);
              ctx.out.line(formatRollbackPlan(r.plan));
              ctx.out.note('dry run: nothing changed');
              return 0;
            }
            const { to } = await rollbackTarget(ctx.dir, project, instance);
            const r = await runOperation(
              { dir: ctx.dir, project, instance, kind: 'rollback', version: to, progress, wait: o.wait },
              run,
            );
            progress.stop();
            ctx.out.data(r);
            ctx.out.line(`rolled back ${project}/${instance} from ${r.plan.from} to ${r.plan.to}`);
            return 0;
          } finally {
            progress.stop();
          }
        },
      ),
    );
}
