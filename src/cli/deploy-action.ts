// What `odp deploy` does, loaded only when it runs (its options and help are in
// deploy.ts): the runtime, the deploy and upgrade flows, the history.
import { OdpError } from '../errors.js';
import { deployTest } from '../ops/instance/deploy-test.js';
import { deployVersion } from '../ops/release/upgrade.js';
import { formatUpgradePlan, isTier } from '../ops/release/upgrade-plan.js';
import { formatPlan, planSteps } from '../plan/plan.js';
import type { Progress } from '../progress.js';
import { loadPlatformDir, requireProject } from '../platformdir/load.js';
import { openRuntime } from '../runtime.js';
import { runOperation } from '../ops/operation.js';
import type { OperationHandle } from '../state/history.js';
import { makeProgress } from './progress.js';
import { type Ctx } from './command.js';
import { engineOptions, type DeployFlags } from './deploy-flags.js';
import { requireInstanceName } from '../platform-spec/instance-names.js';

/** test: rebuilt from scratch; integration and prod: a pinned version. */
export async function deployAction(
  ctx: Ctx,
  project: string,
  instance: string,
  opts: DeployFlags,
): Promise<number> {
  if (opts.branch !== undefined && instance !== 'test')
    throw new OdpError('USAGE', '--branch is for test: a branch instance is an ephemeral test instance');
  if (isTier(instance)) return deployPinned(ctx, project, instance, opts);
  requireInstanceName(instance); // test: what is left
  if (opts.version) throw new OdpError('USAGE', '--version is for integration and prod; test takes --tag');
  if (opts.branch !== undefined) {
    const { deployBranchCli } = await import('./branches.js');
    return deployBranchCli(ctx, project, opts);
  }
  const progress = makeProgress();
  try {
    const { engine, edge } = await openRuntime(ctx.dir, keySource(opts));
    const run = (p: Progress) =>
      deployTest(engine, ctx.dir, project, {
        ...opts,
        edge,
        healthTimeoutMs: opts.healthTimeout * 1000,
        progress: p,
        onPlan: (plan) => {
          if (!opts.json) progress.note(formatPlan(plan));
        },
      });
    // A dry run changes nothing, so it is not an operation to record.
    const r = await runOperation(
      {
        dir: ctx.dir,
        project,
        instance,
        kind: 'deploy',
        version: await tagOf(ctx.dir, project, opts.tag),
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
      ctx.out.note('dry run: nothing changed');
      return 0;
    }
    ctx.out.line(r.applied ? `deployed ${project}/test` : `${project}/test is up to date`);
    if (r.localUrl) ctx.out.line(`  local: ${r.localUrl}   (curl ${r.localUrl}web/health)`);
    ctx.out.line(`  url:   ${r.url}   (once the edge serves its domain)`);
    return 0;
  } finally {
    progress.stop();
  }
}

/** integration or prod: a pinned version, replicas replaced one at a time. */
async function deployPinned(ctx: Ctx, project: string, instance: string, opts: DeployFlags): Promise<number> {
  if (opts.tag) throw new OdpError('USAGE', `--tag is for test; ${instance} takes --version X.Y.Z`);
  const version =
    opts.version ??
    requireProject(await loadPlatformDir(ctx.dir), project).spec.instances[instance as 'prod']?.version;
  if (!version || version === 'latest') {
    throw new OdpError('USAGE', `${project}/${instance} needs a pinned version: --version X.Y.Z`);
  }
  const progress = makeProgress();
  try {
    const { engine, edge } = await openRuntime(ctx.dir, keySource(opts));
    const run = (p: Progress, op?: OperationHandle) =>
      deployVersion(engine, ctx.dir, project, instance, {
        version,
        ...(op ? { operationId: op.id, annotate: op.annotate } : {}),
        ...engineOptions(opts, edge),
        progress: p,
        onPlan: (plan) => {
          if (!opts.json) progress.note(formatUpgradePlan(plan));
        },
      });
    const r = await runOperation(
      {
        dir: ctx.dir,
        project,
        instance,
        kind: 'deploy',
        version,
        progress,
        wait: opts.wait,
        ...(opts.dryRun ? { dryRun: true } : {}),
      },
      run,
    );
    progress.stop();
    ctx.out.data(r);
    if (opts.dryRun || !r.applied) ctx.out.line(formatUpgradePlan(r.plan));
    if (opts.dryRun) {
      ctx.out.note('dry run: nothing changed');
      return 0;
    }
    ctx.out.line(
      r.applied ? `deployed ${project}/${instance} ${version}` : `${project}/${instance} is up to date`,
    );
    if (r.localUrl) ctx.out.line(`  local: ${r.localUrl}   (curl ${r.localUrl}web/health)`);
    ctx.out.line(`  url:   ${r.url}`);
    return 0;
  } finally {
    progress.stop();
  }
}

/** The image tag a test deploy runs: --tag, else the spec's. */
async function tagOf(dir: string, project: string, tag: string | undefined): Promise<string> {
  if (tag) return tag;
  return requireProject(await loadPlatformDir(dir), project).spec.instances.test?.tag ?? 'latest';
}

/** Where the engine reads the registry's password from (a swarm with a private registry). */
const keySource = (opts: DeployFlags) => (opts.passphraseFile ? { passphraseFile: opts.passphraseFile } : {});
