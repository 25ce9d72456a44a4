// `odp certs issue|renew`: the certificates the declared domains (or the one
// named) need, asked for in one ACME pass and then served by the edge. A plan
// (plan/edge.ts): `--dry-run` prints which domains would be asked for and why;
// the run holds the platform lock exclusive (decision 0060: it reloads the edge)
// and is recorded in the history as `certificates`.
import type { Engine } from '../../engines/engine.js';
import { certificateSteps, type EdgeStep } from '../../plan/edge.js';
import type { OperationPlan } from '../../plan/step.js';
import { loadPlatformDir } from '../../platformdir/load.js';
import type { Progress } from '../../progress.js';
import { platformOperation, recordOperation, withOperationLocks } from '../operation.js';
import type { CertProgress, CertResult } from './certs.js';
import { certificateRequests, runEdgePlan, type EdgeRun } from './edge-plan.js';
import { edgeRoutes, type EdgeControl } from './edge-sync.js';

export interface CertifyOptions {
  /** Default: every declared domain (and every branch's). */
  domains?: string[];
  /** Ask again even when the one held is not due. */
  force?: boolean;
  dryRun?: boolean;
  /** Wait for the holders of the platform lock (default), or stop at once with BUSY. */
  wait?: boolean;
  progress: Progress;
  onEvent?: (e: CertProgress) => void;
}

export interface Certified {
  plan: OperationPlan<EdgeStep>;
  /** Each domain: kept (not due), or what the pass did (nothing for a dry run). */
  certificates: CertResult[];
}

export async function certify(
  engine: Engine,
  dir: string,
  edge: EdgeControl,
  o: CertifyOptions,
): Promise<Certified> {
  const pd = await loadPlatformDir(dir);
  await engine.ping();
  const op = platformOperation(dir, 'certificates', o);
  return withOperationLocks(op, async () => {
    const domains = o.domains ?? edgeRoutes(pd).map((r) => r.domain);
    const { requests, kept } = certificateRequests(pd, domains, { force: o.force });
    const subject = o.domains?.length === 1 ? o.domains[0]!.toLowerCase() : 'declared';
    const plan: Certified['plan'] = {
      operation: 'certificates',
      project: op.project,
      instance: op.instance,
      steps: certificateSteps(requests, [], subject),
    };
    if (o.dryRun || plan.steps.length === 0) return { plan, certificates: kept };
    const run: EdgeRun = {
      pd,
      edge,
      progress: o.progress,
      timeoutMs: 60_000,
      certificates: [],
      ...(o.force ? { force: true } : {}),
      ...(o.onEvent ? { onCertificate: o.onEvent } : {}),
    };
    await recordOperation(op, async (progress, h) => {
      h.annotate({ plan });
      run.progress = progress;
      await runEdgePlan(plan.steps, run);
    });
    return { plan, certificates: [...kept, ...run.certificates] };
  });
}
