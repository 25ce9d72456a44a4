import type { Command } from 'commander';
import { OdpError } from '../errors.js';
import { handler, withJson } from './command.js';
import { confirmDestroy } from './confirm.js';
import { silentProgress } from '../progress.js';

interface ResetFlags {
  dryRun?: boolean;
  yes?: boolean;
  confirm?: string;
  passphraseFile?: string;
  json?: boolean;
}

interface CloneFlags extends ResetFlags {
  from: string;
  to: string;
}

export function registerDb(program: Command): void {
  const db = program
    .command('db')
    .description("an instance's database: reset integration, clone prod's data into it");

  withJson(
    db
      .command('reset <project> <instance>')
      .description('drop the integration database and recreate it empty (prod is never reset)')
      .option('--dry-run', 'print the plan and change nothing (nothing is asked)')
      .option('-y, --yes', 'do not ask (needs --confirm too)')
      .option('--confirm <stack>', 'the stack name, typed out (<project>-odoo-integration)')
      .option('--passphrase-file <file>', 'secrets passphrase file'),
  )
    .addHelpText(
      'after',
      `
The original document's "drop the database and recreate an empty one", made safe:
the instance's units are stopped meanwhile (and started again after, even on
failure), open sessions are terminated, and the new database is owned by the
instance's role with CONNECT revoked from everybody else. Odoo then installs it
from scratch at its next start, with the full data set, as prod will be.

Examples:
  odp db reset neomedical integration --dry-run
  odp db reset neomedical integration
  odp db reset neomedical integration --yes --confirm neomedical-odoo-integration`,
    )
    .action(
      handler(async (ctx, project: string, instance: string, o: ResetFlags) => {
        // Loaded on use: the database and S3 clients would slow every other command's start.
        const reset: typeof import('../ops/db/db-reset.js') = await import('../ops/db/db-reset.js');
        reset.assertResettable(project, instance);
        const { loadPlatformDir } = await import('../platformdir/load.js');
        const { openRuntime } = await import('../runtime.js');
        const pd = await loadPlatformDir(ctx.dir);
        const { engine } = await openRuntime(pd);
        const stack = reset.confirmName(pd, project, instance);
        const { printDryRun, recordedPlanRun } = await import('./data-plan.js');
        const opts = { ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}) };
        if (o.dryRun) {
          return printDryRun(
            ctx,
            await reset.resetPlan(engine, ctx.dir, project, instance, { ...opts, progress: silentProgress }),
          );
        }
        await confirmDestroy({
          what: `the database of ${stack}`,
          typeToConfirm: stack,
          yes: o.yes,
          confirm: o.confirm,
        });
        const r = await recordedPlanRun(ctx, { project, instance, kind: 'db-reset' }, o.json, (run) =>
          reset.resetDatabase(engine, ctx.dir, project, instance, { ...opts, ...run }),
        );
        ctx.out.data(r);
        ctx.out.line(`${project}/${instance}: ${r.database} recreated empty on ${r.server}`);
        ctx.out.line(`  owner     ${r.role}`);
        ctx.out.line('  connect   revoked from PUBLIC, granted to the owner');
        if (r.terminated) ctx.out.line(`  sessions  ${r.terminated} terminated`);
        if (r.restarted.length) ctx.out.line(`  restarted ${r.restarted.join(', ')}`);
        return 0;
      }),
    );

  withJson(
    db
      .command('clone <project>')
      .description("copy prod's database and attachments into integration, neutralized")
      .requiredOption('--from <instance>', 'where the data comes from (prod)')
      .requiredOption('--to <instance>', 'where it goes (integration; never prod)')
      .option('--dry-run', 'print the plan and change nothing (nothing is asked)')
      .option('-y, --yes', 'do not ask')
      .option('--confirm <stack>', 'the target stack name, typed out (optional with --yes)')
      .option('--passphrase-file <file>', 'secrets passphrase file'),
  )
    .addHelpText(
      'after',
      `
Replaces the integration database with a copy of prod's (pg_dump streamed into
pg_restore, never written to disk) and copies prod's attachments into the
integration bucket. The copy is then neutralized: outgoing mail servers,
fetchmail and scheduled actions switched off, web.base.url pinned to the
integration domain, a new database uuid and secret. The instance starts again
only when no mail server, fetchmail or scheduled action is left active.

Examples:
  odp db clone neomedical --from prod --to integration --dry-run
  odp db clone neomedical --from prod --to integration
  odp db clone neomedical --from prod --to integration --yes --json`,
    )
    .action(
      handler(async (ctx, project: string, o: CloneFlags) => {
        const clone: typeof import('../ops/db/db-clone.js') = await import('../ops/db/db-clone.js');
        const { confirmName } = await import('../ops/db/db-reset.js');
        clone.assertClonable(project, o.from, o.to);
        const { loadPlatformDir, requireProject } = await import('../platformdir/load.js');
        const { openRuntime } = await import('../runtime.js');
        const pd = await loadPlatformDir(ctx.dir);
        requireProject(pd, project);
        const { engine } = await openRuntime(pd);
        const stack = confirmName(pd, project, 'integration');
        if (o.confirm !== undefined && o.confirm !== stack) {
          throw new OdpError('USAGE', `--confirm ${o.confirm} does not name the target; it is ${stack}`);
        }
        const { printDryRun, recordedPlanRun } = await import('./data-plan.js');
        const opts = {
          from: o.from,
          to: o.to,
          ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
        };
        if (o.dryRun) {
          return printDryRun(
            ctx,
            await clone.clonePlan(engine, ctx.dir, project, { ...opts, progress: silentProgress }),
          );
        }
        await confirmDestroy({
          what: `the database and attachments of ${stack} (replaced by a neutralized copy of prod)`,
          yes: o.yes,
          confirm: o.confirm,
          // Asked interactively, the stack name is typed out; --yes is enough in scripts.
          ...(o.yes ? {} : { typeToConfirm: stack }),
        });
        const r = await recordedPlanRun(ctx, { project, instance: o.to, kind: 'db-clone' }, o.json, (run) =>
          clone.cloneDatabase(engine, ctx.dir, project, { ...opts, ...run }),
        );
        ctx.out.data(r);
        ctx.out.line(`${project}: prod cloned into integration, neutralized`);
        ctx.out.line(
          `  database  ${r.source.database} → ${r.target.database} (${r.dumpBytes} bytes streamed)`,
        );
        ctx.out.line(`  files     ${r.source.bucket} → ${r.target.bucket}: ${r.objects.copied} object(s)`);
        const rows = Object.entries(r.neutralized)
          .map(([table, n]) => `${table} ${n === null ? 'absent' : n}`)
          .join(', ');
        ctx.out.line(`  neutral   ${rows}`);
        if (r.neutralized.ir_config_parameter !== null)
          ctx.out.line(`  base url  https://${r.target.domain}`);
        if (r.restarted.length) ctx.out.line(`  restarted ${r.restarted.join(', ')}`);
        return 0;
      }),
    );
}
