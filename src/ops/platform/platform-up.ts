// `odp platform up`: the shared services converged through the same stack plan
// and engine as instances, then the edge routing every declared instance and the
// certificates the declared domains need: one plan (stack steps, then the edge's,
// plan/edge.ts), printed by --dry-run, run under the platform lock exclusive
// (decision 0060) and recorded in the history as `platform-up`.
import { composePlatform } from '../../compose/platform.js';
import type { Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import { certificateSteps, edgeReload, isEdgeStep } from '../../plan/edge.js';
import { formatPlan, planStack, planSteps, type Plan } from '../../plan/plan.js';
import { lastSteps } from '../../plan/step.js';
import { loadPlatformDir, type PlatformDir } from '../../platformdir/load.js';
import type { Progress } from '../../progress.js';
import type { CertResult } from '../edge/certs.js';
import { certificateRequests, describeEdgeStep, executeEdgeStep, type EdgeRun } from '../edge/edge-plan.js';
import { edgeRoutes, type EdgeControl } from '../edge/edge-sync.js';
import { describeStep, executeStackStep } from '../instance/apply-plan.js';
import { resolveImages } from '../instance/preflight.js';
import { PLATFORM_PROJECT, platformOperation, recordOperation, withOperationLocks } from '../operation.js';
import { runSteps } from '../run-steps.js';
import { platformSecrets } from '../secrets/platform-secrets.js';

export interface PlatformUpResult {
  plan: Plan;
  planText: string;
  applied: boolean;
  generatedSecrets: string[];
  /** What happened to each declared domain's certificate (requested early, never on go-live day). */
  certificates: CertResult[];
}

export async function platformUp(
  engine: Engine,
  dir: string,
  o: {
    dryRun?: boolean;
    passphraseFile?: string;
    progress: Progress;
    onPlan?: (p: Plan) => void;
    edge?: EdgeControl;
    wait?: boolean;
  },
): Promise<PlatformUpResult & { pd: PlatformDir }> {
  const pd = await loadPlatformDir(dir);
  o.progress.start('preflight', 'pre-flight checks');
  const secrets = await platformSecrets(dir, { passphraseFile: o.passphraseFile, generate: !o.dryRun });
  const { stack, missingSecrets } = composePlatform(pd.platform, secrets.values);
  if (missingSecrets.length && !o.dryRun) {
    throw new OdpError('INTERNAL', `platform secrets missing: ${missingSecrets.join(', ')}`);
  }
  await engine.ping();
  const imageIds = await resolveImages(engine, stack);
  o.progress.done('preflight');

  const op = platformOperation(dir, 'platform-up', o);
  return withOperationLocks(op, async () => {
    const observed = await engine.observe({ platform: pd.platform.name, project: PLATFORM_PROJECT });
    const plan = planStack({ stack, imageIds, observed, freshOnChange: false });
    let kept: CertResult[] = [];
    if (o.edge) {
      // Every declared instance routed, then the certificates asked for as soon as a
      // domain is declared; a failure keeps what is held and is reported, it does not
      // undo the platform.
      const reload = edgeReload('route every declared instance through the edge', lastSteps(plan.steps));
      const certs = certificateRequests(
        pd,
        edgeRoutes(pd).map((r) => r.domain),
      );
      kept = certs.kept;
      plan.edge = [...reload, ...certificateSteps(certs.requests, [reload[2]!.id], 'declared')];
    }
    const result = {
      pd,
      plan,
      planText: formatPlan(plan),
      applied: false,
      generatedSecrets: secrets.generated,
      certificates: kept,
    };
    if (o.dryRun) return result;
    if (plan.steps.length > 0) o.onPlan?.(plan);
    const run: EdgeRun | undefined = o.edge && {
      pd,
      edge: o.edge,
      progress: o.progress,
      timeoutMs: 60_000,
      certificates: [],
    };
    await recordOperation(op, async (progress, h) => {
      h.annotate({ plan: { stack: plan.stack, steps: planSteps(plan) } });
      const apply = {
        labels: { 'odp.platform': pd.platform.name, 'odp.project': PLATFORM_PROJECT },
        healthTimeoutMs: 5 * 60_000,
        progress,
      };
      if (run) run.progress = progress;
      await runSteps(
        [...plan.steps, ...plan.edge],
        (s) => (isEdgeStep(s) ? executeEdgeStep(run!, s) : executeStackStep(engine, s, apply)),
        {
          progress,
          describe: (s) => (isEdgeStep(s) ? describeEdgeStep(s) : describeStep(s)),
        },
      );
    });
    return {
      ...result,
      applied: plan.steps.length > 0,
      certificates: [...kept, ...(run?.certificates ?? [])],
    };
  });
}
