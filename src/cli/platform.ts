import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import { handler, withJson } from './command.js';
import { confirmDestroy } from './confirm.js';
import { addSecretsCommands } from './secrets-commands.js';
import { makeProgress } from './progress.js';

export function registerPlatform(program: Command): void {
  const platform = program
    .command('platform')
    .description('the shared services: PostgreSQL cluster, Redis, object storage, the HTTPS edge');

  const secrets = platform
    .command('secrets')
    .description("show and change the platform's own secrets (platform.env.gpg)")
    .addHelpText(
      'after',
      `
The platform's secrets: the PostgreSQL passwords (\`platform up\` generates them),
backup storage keys (BACKUP_S3_ACCESS_KEY_ID, BACKUP_S3_SECRET_ACCESS_KEY), ACME
account and DNS provider credentials, WEBHOOK_SECRET for \`odp serve\`. Same
file format, flags and behaviour as \`odp secrets\`, without PROJECT.

Examples:
  odp platform secrets show
  printf %s "$KEY" | odp platform secrets set BACKUP_S3_SECRET_ACCESS_KEY --stdin
  odp platform secrets get WEBHOOK_SECRET
  odp platform secrets edit
  odp platform secrets recipients add ada.asc`,
    );
  addSecretsCommands(secrets, 'platform');

  withJson(
    platform
      .command('up')
      .description('create or converge the shared services')
      .option('--dry-run', 'print the plan and change nothing')
      .option('--passphrase-file <file>', 'passphrase of platform.env.gpg (created on first run)'),
  )
    .addHelpText('after', '\nExamples:\n  odp platform up --dry-run\n  odp platform up')
    .action(
      handler(async (ctx, o: { dryRun?: boolean; passphraseFile?: string; json?: boolean }) => {
        const { platformUp } = await import('../ops/platform/platform.js');
        const { formatPlan, planSteps } = await import('../plan/plan.js');
        const { openRuntime } = await import('../runtime.js');
        const progress = makeProgress();
        try {
          const { engine, edge } = await openRuntime(ctx.dir);
          const r = await platformUp(engine, ctx.dir, {
            ...o,
            edge,
            progress,
            onPlan: (p) => (o.json ? undefined : progress.note(formatPlan(p))),
          });
          progress.stop();
          ctx.out.data({
            applied: r.applied,
            dryRun: !!o.dryRun,
            steps: r.plan.steps.length,
            plan: r.planText,
            planSteps: planSteps(r.plan),
            generatedSecrets: r.generatedSecrets,
            certificates: r.certificates,
          });
          if (o.dryRun || !r.applied) ctx.out.line(r.planText);
          if (r.generatedSecrets.length)
            ctx.out.line(`generated ${r.generatedSecrets.join(', ')} into platform.env.gpg`);
          ctx.out.line(`platform ${r.pd.platform.name} is ${r.applied ? 'up' : 'up to date'}`);
          for (const c of r.certificates) {
            const until = c.notAfter ? ` until ${c.notAfter.toISOString().slice(0, 10)}` : '';
            ctx.out.line(
              `  certificate ${c.domain.padEnd(40)} ${c.action}${until}${c.reason && (c.action === 'failed' || c.action === 'deferred') ? `: ${c.reason}` : ''}`,
            );
          }
          return 0;
        } finally {
          progress.stop();
        }
      }),
    );

  withJson(
    platform
      .command('status')
      .description('each shared service: up or down, and why; replica lag, Redis, certificates')
      .option('--passphrase-file <file>', 'passphrase of platform.env.gpg (for the replica lag)'),
  )
    .addHelpText('after', '\nExamples:\n  odp platform status\n  odp platform status --json')
    .action(
      handler(async (ctx, o: { passphraseFile?: string }) => {
        const { platformHealth } = await import('../ops/platform/platform-health.js');
        const { platformServices } = await import('../ops/platform/platform.js');
        const { platformSecrets } = await import('../ops/secrets/platform-secrets.js');
        const { loadPlatformDir } = await import('../platformdir/load.js');
        const { openRuntime } = await import('../runtime.js');
        const pd = await loadPlatformDir(ctx.dir);
        const { engine } = await openRuntime(pd);
        const services = await platformServices(engine, pd);
        // The replica's lag needs the superuser password: asked only when one can be had.
        const secrets = await platformSecrets(ctx.dir, { ...o, generate: false }).catch(() => undefined);
        const health = await platformHealth(engine, pd, secrets?.values.get('POSTGRES_PASSWORD'));
        ctx.out.data({ platform: pd.platform.name, services, ...health });
        const { table, paintState } = await import('./table.js');
        // Services and replication: name, state, then where and why.
        const rows = services.map((s) => [
          s.service,
          paintState(s.state),
          s.endpoint ? `${s.endpoint.host}:${s.endpoint.port}` : '',
          s.reason ?? '',
        ]);
        const r = health.replication;
        if (r && 'error' in r) rows.push(['replication', 'unknown', r.error, '']);
        else if (r) {
          const secs = r.lagSeconds === null ? 'idle' : `${r.lagSeconds.toFixed(1)} s`;
          const state = paintState(r.connected ? 'streaming' : 'broken');
          rows.push(['replication', state, `lag ${r.lagBytes} bytes, ${secs}`, r.detail ?? '']);
        }
        // Redis and certificates: what each says of itself.
        const facts = Object.entries(health.redis).map(([tier, st]) => [
          `redis ${tier}`,
          'error' in st ? (st.error ?? 'down') : `${st.keys} keys, AOF ${st.aofEnabled ? 'on' : 'OFF'}`,
        ]);
        for (const c of health.certificates) {
          const left =
            'daysLeft' in c && c.daysLeft !== undefined ? `${c.daysLeft} days left` : 'no certificate yet';
          facts.push([`certificate ${c.domain}`, left]);
        }
        for (const l of [...table(rows), ...table(facts)]) ctx.out.line(l);
        // A unit the engine has not checked yet is running, not failing: its first check
        // comes every 60 s (docs/decisions/0050), and `platform up` saw it answer already.
        return services.every((s) => s.state === 'up' || s.state === 'starting')
          ? ExitCode.ok
          : ExitCode.failure;
      }),
    );

  withJson(
    platform
      .command('down')
      .description('stop the shared services; volumes are kept unless --purge')
      .option('--purge', 'also delete every volume: all databases, sessions, files and certificates')
      .option('-y, --yes', 'do not ask')
      .option('--confirm <platform>', 'with --purge: the platform name, typed out')
      .option('--dry-run', 'print the plan and change nothing'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  odp platform down --dry-run\n  odp platform down --yes\n  odp platform down --purge --yes --confirm odoo-platform',
    )
    .action(
      handler(
        async (
          ctx,
          o: { purge?: boolean; yes?: boolean; confirm?: string; dryRun?: boolean; json?: boolean },
        ) => {
          const { platformDown } = await import('../ops/platform/platform.js');
          const { formatRemovalPlan } = await import('../plan/removal.js');
          const { loadPlatformDir } = await import('../platformdir/load.js');
          const { openRuntime } = await import('../runtime.js');
          const pd = await loadPlatformDir(ctx.dir);
          const { engine } = await openRuntime(pd);
          const name = pd.platform.name;
          if (!o.dryRun) {
            await confirmDestroy({
              what: o.purge
                ? `the shared services of ${name} and ALL their data`
                : `the shared services of ${name} (data kept)`,
              yes: o.yes,
              confirm: o.confirm,
              ...(o.purge ? { typeToConfirm: name } : {}),
            });
          }
          const progress = makeProgress();
          try {
            const r = await platformDown(engine, ctx.dir, {
              purge: Boolean(o.purge),
              progress,
              ...(o.dryRun ? { dryRun: true } : {}),
            });
            progress.stop();
            ctx.out.data({ ...r, dryRun: !!o.dryRun });
            if (o.dryRun) {
              ctx.out.line(formatRemovalPlan(r.plan));
              if (r.kept.length) ctx.out.line(`kept: ${r.kept.join(', ')}`);
              ctx.out.note('dry run: nothing changed');
              return 0;
            }
            ctx.out.line(
              `removed ${r.removed.length} objects${r.kept.length ? `; kept ${r.kept.length} volumes` : ''}`,
            );
          } finally {
            progress.stop();
          }
          return 0;
        },
      ),
    );
}
