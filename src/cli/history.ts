import type { Command } from 'commander';
import { OdpError } from '../errors.js';
import { requireInstanceName } from '../platform-spec/instance-names.js';
import { checked, handler, wholeNumber, withJson } from './command.js';

export function registerHistory(program: Command): void {
  withJson(
    program
      .command('history [project] [instance]')
      .description(
        "an instance's operations (or with --platform the shared services'): who, what version, each step, timing, outcome",
      )
      .option(
        '--limit <n>',
        'how many, newest first',
        checked((v) => wholeNumber(v, '--limit', 1, 100_000)),
        20,
      )
      .option('--steps', 'also list each step')
      .option('--branch <name>', "test only: the branch instance's operations")
      .option('--platform', "the shared services' operations: platform up|down, certificates, hosts sync"),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  odp history neomedical test\n  odp history neomedical prod --steps --json\n  odp history neomedical test --branch feature/login\n  odp history --platform --steps',
    )
    .action(
      handler(
        async (
          ctx,
          project: string | undefined,
          name: string | undefined,
          o: { limit: number; steps?: boolean; branch?: string; platform?: boolean },
        ) => {
          const { history } = await import('../state/history.js');
          const { PLATFORM_INSTANCE, PLATFORM_PROJECT } = await import('../ops/operation.js');
          if (o.platform && (project !== undefined || o.branch !== undefined)) {
            throw new OdpError('USAGE', '--platform takes no project, instance or --branch');
          }
          if (!o.platform && (project === undefined || name === undefined)) {
            throw new OdpError('USAGE', 'name a project and an instance, or --platform', {
              hint: 'odp history neomedical prod; odp history --platform',
            });
          }
          let instance = PLATFORM_INSTANCE;
          if (!o.platform) {
            const { loadPlatformDir, requireProject } = await import('../platformdir/load.js');
            requireProject(await loadPlatformDir(ctx.dir), project!);
            requireInstanceName(name!);
            if (o.branch !== undefined && name !== 'test') {
              throw new OdpError('USAGE', '--branch is for test: branch instances are test instances');
            }
            const { branchInstanceLabel, branchSlug } = await import('../compose/branch.js');
            instance = o.branch === undefined ? name! : branchInstanceLabel(branchSlug(o.branch));
          }
          project = o.platform ? PLATFORM_PROJECT : project!;
          const ops = history(ctx.dir, project, instance, o.limit);
          ctx.out.data({ operations: ops });
          const whose = o.platform ? 'the shared services' : `${project}/${instance}`;
          if (ops.length === 0) ctx.out.line(`no operation recorded for ${whose}`);
          const { table, paintState } = await import('./table.js');
          const lines = table(
            ops.map((op) => [
              `#${op.id}`,
              `${op.startedAt.slice(0, 19)}Z`,
              op.kind,
              op.version ?? '',
              `by ${op.actor}`,
              paintState(op.outcome),
              op.finishedAt
                ? `${((Date.parse(op.finishedAt) - Date.parse(op.startedAt)) / 1000).toFixed(1)}s`
                : '',
            ]),
            { right: [6] },
          );
          ops.forEach((op, i) => {
            ctx.out.line(lines[i]);
            if (op.detail) ctx.out.line(`    ${op.detail}`);
            if (!o.steps) return;
            const steps = op.steps.map((s) => [
              paintState(s.outcome),
              `${(s.seconds ?? 0).toFixed(1)}s`,
              `${s.step}${s.detail ? `: ${s.detail}` : ''}`,
            ]);
            for (const l of table(steps, { right: [1], indent: '    ' })) ctx.out.line(l);
          });
          return 0;
        },
      ),
    );
}
