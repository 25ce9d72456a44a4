// Branch instances on the command line: `odp branches [PROJECT]`, `odp branches
// expire`, and the `--branch` paths of `odp deploy … test` and `odp destroy … test`.
import type { Command } from 'commander';
import { OdpError } from '../errors.js';
import type { Progress } from '../progress.js';
import { handler, withJson, type Ctx } from './command.js';
import type { DeployFlags } from './deploy-flags.js';
import { makeProgress } from './progress.js';

export function registerBranches(program: Command): void {
  const branches = withJson(
    program
      .command('branches [project]')
      .description('branch instances (ephemeral test instances): their domain, image, age and last deploy'),
  )
    .addHelpText(
      'after',
      `
A branch instance is made by \`odp deploy PROJECT test --branch NAME\` (or by \`odp serve\`
on a branch push) and answers on https://<branch-slug>.<test domain>/.

Examples:
  odp branches
  odp branches neomedical --json
  odp branches expire --dry-run`,
    )
    .action(
      handler(async (ctx, project: string | undefined) => {
        const { loadPlatformDir, requireProject } = await import('../platformdir/load.js');
        const { listBranches } = await import('../state/branches.js');
        if (project) requireProject(await loadPlatformDir(ctx.dir), project);
        const now = Date.now();
        const rows = listBranches(ctx.dir, project).map((b) => ({
          ...b,
          url: `https://${b.domain}/`,
          ageSeconds: secondsSince(b.createdAt, now),
          sinceDeploySeconds: secondsSince(b.lastDeployAt, now),
        }));
        ctx.out.data({ branches: rows });
        if (rows.length === 0) ctx.out.line(`no branch instance${project ? ` of ${project}` : ''}`);
        const { age, table } = await import('./table.js');
        const lines = table(
          rows.map((b) => [
            b.project,
            b.branch,
            b.url,
            `tag ${b.tag}`,
            `age ${age(b.ageSeconds)}`,
            `last deploy ${age(b.sinceDeploySeconds)} ago`,
          ]),
        );
        for (const l of lines) ctx.out.line(l);
        return 0;
      }),
    );

  withJson(
    branches
      .command('expire')
      .description('remove the branch instances not deployed for branches.expireAfterHours (default 72)')
      .option('--dry-run', 'list what would be removed, with each removal plan, and change nothing'),
  )
    .addHelpText('after', '\nExamples:\n  odp branches expire --dry-run\n  odp branches expire')
    .action(
      handler(async (ctx, o: { dryRun?: boolean; json?: boolean }) => {
        const { openRuntime } = await import('../runtime.js');
        const { expireBranches } = await import('../ops/instance/branch-removal.js');
        const { engine, edge } = await openRuntime(ctx.dir);
        const progress = makeProgress();
        try {
          const r = await expireBranches(engine, ctx.dir, {
            ...(o.dryRun ? { dryRun: true } : {}),
            progress,
            edge,
          });
          progress.stop();
          ctx.out.data({ ...r, dryRun: !!o.dryRun });
          const verb = o.dryRun ? 'would remove' : 'removed';
          const { formatRemovalPlan } = await import('../plan/removal.js');
          r.expired.forEach((b, i) => {
            ctx.out.line(`${verb} ${b.project} ${b.branch} (${b.domain})`);
            if (o.dryRun && r.plans[i]) ctx.out.line(formatRemovalPlan(r.plans[i]));
          });
          ctx.out.line(
            `${r.expired.length} ${verb}, ${r.kept.length} kept (expiry after ${r.olderThanMs / 3_600_000} h without a deploy)`,
          );
          if (o.dryRun) ctx.out.note('dry run: nothing changed');
          return 0;
        } finally {
          progress.stop();
        }
      }),
    );
}

/** `odp deploy PROJECT test --branch NAME`. */
export async function deployBranchCli(ctx: Ctx, project: string, opts: DeployFlags): Promise<number> {
  const branch = opts.branch!;
  const { openRuntime } = await import('../runtime.js');
  const { deployBranch } = await import('../ops/instance/branches.js');
  const { branchInstanceLabel, branchSlug } = await import('../compose/branch.js');
  const { runOperation } = await import('../ops/operation.js');
  const { formatPlan, planSteps } = await import('../plan/plan.js');
  const { engineOptions } = await import('./deploy-flags.js');
  const instance = branchInstanceLabel(branchSlug(branch));
  const progress = makeProgress();
  try {
    const { engine, images, edge } = await openRuntime(ctx.dir);
    const run = (p: Progress) =>
      deployBranch(engine, ctx.dir, project, branch, {
        ...(opts.tag ? { tag: opts.tag } : {}),
        images,
        ...engineOptions(opts, edge),
        progress: p,
        onPlan: (plan) => {
          if (!opts.json) progress.note(formatPlan(plan));
        },
      });
    const r = await runOperation(
      {
        dir: ctx.dir,
        project,
        instance,
        kind: 'deploy',
        ...(opts.tag ? { version: opts.tag } : {}),
        progress,
        wait: opts.wait,
        ...(opts.dryRun ? { dryRun: true } : {}),
      },
      run,
    );
    progress.stop();
    ctx.out.data({ ...r, plan: undefined, steps: r.plan.steps.length, planSteps: planSteps(r.plan) });
    if (opts.dryRun || !r.applied) ctx.out.line(r.planText);
    if (opts.dryRun) {
      ctx.out.note(`dry run: nothing changed (image tag ${r.tag})`);
      return 0;
    }
    const what = `${project}/${r.instance} (branch ${branch}, tag ${r.tag})`;
    ctx.out.line(r.applied ? `deployed ${what}` : `${what} is up to date`);
    if (r.localUrl) ctx.out.line(`  local: ${r.localUrl}   (curl ${r.localUrl}web/health)`);
    ctx.out.line(`  url:   ${r.url}`);
    return 0;
  } finally {
    progress.stop();
  }
}

/** `odp destroy PROJECT test --branch NAME`: unlike the webhook path, an unknown branch is an error. */
export async function destroyBranchCli(
  ctx: Ctx,
  project: string,
  branch: string,
  o: { yes?: boolean; dryRun?: boolean; json?: boolean },
): Promise<number> {
  const { loadPlatformDir, requireProject } = await import('../platformdir/load.js');
  const { getBranch } = await import('../state/branches.js');
  const { branchTarget } = await import('../compose/branch.js');
  const spec = requireProject(await loadPlatformDir(ctx.dir), project).spec;
  const known = getBranch(ctx.dir, project, branch);
  if (!o.dryRun) {
    const { confirmDestroy } = await import('./confirm.js');
    await confirmDestroy({ what: known?.stack ?? branchTarget(spec, branch).stackName, yes: o.yes });
  }
  const { openRuntime } = await import('../runtime.js');
  const { removeBranch } = await import('../ops/instance/branch-removal.js');
  const { formatRemovalPlan } = await import('../plan/removal.js');
  const { engine, edge } = await openRuntime(ctx.dir);
  const progress = makeProgress();
  try {
    const r = await removeBranch(engine, ctx.dir, project, branch, {
      progress,
      edge,
      ...(o.dryRun ? { dryRun: true } : {}),
    });
    if (!r.plan) {
      throw new OdpError('NOT_FOUND', `${project} has no instance for branch ${branch}`, {
        hint: `odp branches ${project} lists them.`,
      });
    }
    progress.stop();
    ctx.out.data({ ...r, dryRun: !!o.dryRun });
    if (o.dryRun) {
      ctx.out.line(formatRemovalPlan(r.plan));
      ctx.out.note('dry run: nothing changed');
      return 0;
    }
    ctx.out.line(
      `removed the instance of branch ${branch}: ${r.objects.length} objects, its route and record`,
    );
    return 0;
  } finally {
    progress.stop();
  }
}

function secondsSince(iso: string, now: number): number {
  return Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
}
