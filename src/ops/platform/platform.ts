// `odp platform up|status|down`: the original document's common stacks (lb,
// redis, redis-integration, postgres-cluster, postgres-integration), run by odp
// through the same plan and engine as instances. `up` converges; `down` keeps
// every volume unless purging was asked for and confirmed.
import {
  composePlatform,
  platformStackName,
  sharedUnit,
  tierNetwork,
  edgeNetwork,
} from '../../compose/platform.js';
import type { Engine, ObservedUnit } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import { formatPlan, planStack, type Plan } from '../../plan/plan.js';
import { loadPlatformDir, type PlatformDir } from '../../platformdir/load.js';
import { withInstanceLock } from '../../state/lock.js';
import { applyPlan } from '../instance/apply-plan.js';
import { platformSecrets } from '../secrets/platform-secrets.js';
import { resolveImages } from '../instance/preflight.js';
import type { Progress } from '../../progress.js';
import { settleStarting } from '../instance/settle-starting.js';
import type { CertResult } from '../edge/certs.js';
import type { EdgeControl } from '../edge/edge-sync.js';

export const PLATFORM_PROJECT = '_platform';

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

  return withInstanceLock(
    dir,
    PLATFORM_PROJECT,
    { wait: true, onWait: (h) => o.progress.note(`waiting for ${h}`) },
    async () => {
      const observed = await engine.observe({ platform: pd.platform.name, project: PLATFORM_PROJECT });
      const plan = planStack({ stack, imageIds, observed, freshOnChange: false });
      const result = {
        pd,
        plan,
        planText: formatPlan(plan),
        applied: false,
        generatedSecrets: secrets.generated,
        certificates: [] as CertResult[],
      };
      if (o.dryRun) return result;
      if (plan.steps.length > 0) {
        o.onPlan?.(plan);
        await applyPlan(engine, plan, {
          labels: { 'odp.platform': pd.platform.name, 'odp.project': PLATFORM_PROJECT },
          healthTimeoutMs: 5 * 60_000,
          progress: o.progress,
        });
      }
      if (!o.edge) return { ...result, applied: plan.steps.length > 0 };
      o.progress.start('edge', 'route every declared instance through the edge');
      await o.edge.sync(pd);
      o.progress.done('edge');
      // Certificates are asked for as soon as an instance is declared; a failure
      // keeps what is held and is reported, it does not undo the platform.
      o.progress.start('certs', 'certificates');
      const certificates = await o.edge.certify(pd);
      o.progress.done('certs');
      return { ...result, applied: plan.steps.length > 0, certificates };
    },
  );
}

export interface ServiceStatus {
  service: string;
  unit: string;
  state: 'up' | 'down' | 'starting' | 'absent';
  /** Why a service is not up, in words. */
  reason?: string;
  image?: string;
  ports: Record<number, number>;
}

/** What runs of the platform stack, each service up or down with the reason. */
export async function platformServices(engine: Engine, pd: PlatformDir): Promise<ServiceStatus[]> {
  await engine.ping();
  const { stack } = composePlatform(pd.platform, new Map());
  const observed = await engine.observe({ platform: pd.platform.name, project: PLATFORM_PROJECT });
  await settleStarting(engine, observed.units);
  return Promise.all(
    stack.services.map(async (svc) => {
      const unit = sharedUnit(pd.platform, svc.name);
      const u = observed.units.find((x) => x.name === unit);
      if (!u)
        return {
          service: svc.name,
          unit,
          state: 'absent' as const,
          reason: 'not created: run odp platform up',
          ports: {},
        };
      return { service: svc.name, unit, image: u.image, ports: u.ports, ...(await stateOf(engine, u)) };
    }),
  );
}

async function stateOf(engine: Engine, u: ObservedUnit): Promise<Pick<ServiceStatus, 'state' | 'reason'>> {
  if (u.state === 'running' && (u.health === 'healthy' || u.health === 'none')) return { state: 'up' };
  if (u.state === 'running' && u.health === 'starting')
    return { state: 'starting', reason: 'not answering its health check yet' };
  const why = await engine.explain(u.name);
  if (!why) return { state: 'absent', reason: 'removed' };
  if (u.state === 'running')
    return { state: 'down', reason: `unhealthy: ${why.lastProbe || 'health check failing'}` };
  const exit = why.error ? `${why.error}` : `exited with code ${why.exitCode}`;
  return { state: 'down', reason: `${u.state}: ${exit}${why.restarting ? ' (restarting)' : ''}` };
}

export async function platformDown(
  engine: Engine,
  dir: string,
  o: { purge: boolean; progress: Progress },
): Promise<{ removed: string[]; kept: string[] }> {
  const pd = await loadPlatformDir(dir);
  await engine.ping();
  return withInstanceLock(dir, PLATFORM_PROJECT, { wait: true }, async () => {
    const observed = await engine.observe({ platform: pd.platform.name, project: PLATFORM_PROJECT });
    const removed: string[] = [];
    for (const u of observed.units) {
      o.progress.start(u.name, `stop ${u.name}`);
      await engine.remove(u.name, 30);
      o.progress.done(u.name);
      removed.push(u.name);
    }
    const name = platformStackName(pd.platform);
    const nets = [
      name,
      tierNetwork(pd.platform, 'prod'),
      tierNetwork(pd.platform, 'integration'),
      edgeNetwork(pd.platform),
    ];
    for (const n of nets) {
      // A network an instance still uses stays; it goes with the last instance.
      await engine.removeNetwork(n).then(
        () => removed.push(`network ${n}`),
        () => undefined,
      );
    }
    const kept: string[] = [];
    for (const v of observed.volumes) {
      if (o.purge) {
        await engine.removeVolume(v);
        removed.push(`volume ${v}`);
      } else kept.push(v);
    }
    return { removed, kept };
  });
}
