import type { Command } from 'commander';
import { handler, withJson } from './command.js';
import { makeProgress } from './progress.js';

export function registerProvision(program: Command): void {
  withJson(
    program
      .command('provision <project> <instance>')
      .description('create what an integration or prod instance needs on the shared services (idempotent)')
      .option('--passphrase-file <file>', 'secrets passphrase file')
      .option('--dry-run', 'print the plan and change nothing'),
  )
    .addHelpText(
      'after',
      `
Creates its database role and database (CONNECT revoked from everybody else), its
bucket and its Redis prefix. Running it again changes nothing; after
\`odp secrets rotate\` it applies the new database password.

Examples:
  odp provision neomedical integration --dry-run
  odp provision neomedical integration
  odp provision neomedical prod --json`,
    )
    .action(
      handler(
        async (
          ctx,
          project: string,
          instance: string,
          o: { passphraseFile?: string; dryRun?: boolean; json?: boolean },
        ) => {
          const { provision } = await import('../ops/platform/provision.js');
          const { formatProvisionPlan } = await import('../plan/provision.js');
          const { openRuntime } = await import('../runtime.js');
          const { engine } = await openRuntime(ctx.dir);
          const progress = makeProgress();
          try {
            const { plan, outcome: r } = await provision(engine, ctx.dir, project, instance, {
              ...o,
              progress,
            });
            progress.stop();
            if (!r) {
              ctx.out.data({ plan, dryRun: true });
              ctx.out.line(formatProvisionPlan(plan));
              ctx.out.note('dry run: nothing changed');
              return 0;
            }
            ctx.out.data({ ...r, plan });
            ctx.out.line(`${project}/${instance}:`);
            ctx.out.line(`  role      ${r.role.padEnd(42)} ${r.postgres.role}`);
            ctx.out.line(`  database  ${r.database.padEnd(42)} ${r.postgres.database}`);
            ctx.out.line(
              `  connect   ${'revoked from PUBLIC, granted to the role'.padEnd(42)} ${r.postgres.connect}`,
            );
            ctx.out.line(`  bucket    ${r.bucket.name.padEnd(42)} ${r.bucket.change}`);
            ctx.out.line(`  redis     ${`${r.redisPrefix.prefix}:*`.padEnd(42)} ${r.redisPrefix.change}`);
            return 0;
          } finally {
            progress.stop();
          }
        },
      ),
    );
}
