import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import type { CertResult } from '../ops/edge/certs.js';
import type { Out } from './output.js';
import { handler, withJson } from './command.js';
import { makeProgress } from './progress.js';

export function registerCerts(program: Command): void {
  const certs = program
    .command('certs')
    .description("the instances' TLS certificates (ACME, served by the edge)");

  withJson(certs.command('status').description('every domain: issuer, expiry, days left, last attempt'))
    .addHelpText('after', '\nExamples:\n  odp certs status\n  odp certs status --json')
    .action(
      handler(async (ctx) => {
        const { edgeRoutes } = await import('../ops/edge/edge-sync.js');
        const { certStatus } = await import('../ops/edge/certs.js');
        const { loadPlatformDir } = await import('../platformdir/load.js');
        const pd = await loadPlatformDir(ctx.dir);
        const held = new Map(certStatus(pd.dir).map((c) => [c.domain, c]));
        const rows = edgeRoutes(pd).map((r) => held.get(r.domain) ?? { domain: r.domain });
        ctx.out.data({ certificates: rows });
        const { table } = await import('./table.js');
        const lines = table(
          rows.map((c) => [
            c.domain,
            'daysLeft' in c && c.daysLeft !== undefined
              ? `${c.daysLeft} days left (${c.issuer})`
              : 'none yet',
            'last' in c && c.last ? `last: ${c.last.outcome} ${c.last.at.toISOString()}` : '',
          ]),
        );
        for (const l of lines) ctx.out.line(l);
        return 0;
      }),
    );

  const request = (name: string, description: string, force: boolean) =>
    withJson(certs.command(`${name} [domain]`).description(description))
      .option('--force', force ? 'renew even when not due' : 'ask again even when one is held')
      .option('--dry-run', 'print which domains would be asked for, and why; change nothing')
      .action(
        handler(async (ctx, domain: string | undefined, o: { force?: boolean; dryRun?: boolean }) => {
          const { certify } = await import('../ops/edge/certify.js');
          const { edgeStepSubject } = await import('../plan/edge.js');
          const { formatSteps } = await import('../plan/step.js');
          const { openRuntime } = await import('../runtime.js');
          const { engine, edge } = await openRuntime(ctx.dir);
          const progress = makeProgress();
          try {
            const r = await certify(engine, ctx.dir, edge, {
              ...(domain ? { domains: [domain] } : {}),
              force: Boolean(o.force),
              ...(o.dryRun ? { dryRun: true } : {}),
              progress,
              onEvent: (e) =>
                e.phase === 'requesting' ? ctx.out.note(`requesting ${e.domain}: ${e.reason}`) : undefined,
            });
            progress.stop();
            if (!o.dryRun) return report(ctx.out, r.certificates);
            ctx.out.data({ plan: r.plan, certificates: r.certificates, dryRun: true });
            const steps = formatSteps(r.plan.steps, edgeStepSubject);
            ctx.out.line(steps.length ? ['certificates:', ...steps].join('\n') : 'certificates: nothing due');
            for (const c of r.certificates) ctx.out.line(`${c.domain.padEnd(44)} kept`);
            ctx.out.note('dry run: nothing changed');
            return 0;
          } finally {
            progress.stop();
          }
        }),
      );
  request('issue', 'request the certificates declared instances lack (or one domain)', false).addHelpText(
    'after',
    '\nExamples:\n  odp certs issue\n  odp certs issue integration.neomedical.odoo.example.ch',
  );
  request(
    'renew',
    'renew the certificates due (a third of their lifetime left, or acme.renewBeforeDays) or one domain',
    true,
  ).addHelpText(
    'after',
    '\nExamples:\n  odp certs renew\n  odp certs renew neomedical.odoo.example.ch --force',
  );
}

function report(out: Out, results: CertResult[]): number {
  out.data({ certificates: results });
  for (const r of results) {
    const until = r.notAfter ? ` until ${r.notAfter.toISOString().slice(0, 10)}` : '';
    out.line(
      `${r.domain.padEnd(44)} ${r.action}${until}${r.reason && (r.action === 'failed' || r.action === 'deferred') ? `: ${r.reason}` : ''}`,
    );
  }
  return results.some((r) => r.action === 'failed') ? ExitCode.failure : ExitCode.ok;
}
