// `odp deploy PROJECT test`: the original document's test flow, made safe.
// Everything that can be checked is checked before anything is removed (spec
// rules, secrets, images present, nginx config accepted by nginx itself), so a
// bad tag never leaves the team without a test instance. Then the plan: when
// anything changed the whole stack is rebuilt and the database starts empty,
// installed with the small data set by the image's own migration at start.
import { createHash } from 'node:crypto';
import type { BranchTarget } from '../../compose/branch.js';
import { composeStack } from '../../compose/stack.js';
import type { Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import { serviceByRole, type Stack } from '../../model/stack.js';
import { formatPlan, planStack, type Plan } from '../../plan/plan.js';
import { lastSteps } from '../../plan/step.js';
import { loadPlatformDir, requireProject, type PlatformDir } from '../../platformdir/load.js';
import { revealEnv } from '../../secret.js';
import { openState } from '../../state/db.js';
import { withInstanceLock } from '../../state/lock.js';
import { applyPlan } from './apply-plan.js';
import type { Progress } from '../../progress.js';
import { planEdgeRoute, runEdgePlan } from '../edge/edge-plan.js';
import type { EdgeControl } from '../edge/edge-sync.js';
import { refuseViolations, resolveImages } from './preflight.js';
import { loadProjectSecrets } from '../secrets/secrets.js';
import { unitUrl } from '../platform/shared-endpoint.js';

export interface DeployTestOptions {
  tag?: string;
  dryRun?: boolean;
  passphraseFile?: string;
  healthTimeoutMs?: number;
  wait?: boolean;
  progress: Progress;
  /** Called with the plan before it runs, so people see what will happen first. */
  onPlan?: (plan: Plan) => void;
  /** The platform's edge: when it runs, the deploy ends once the edge routes the instance. */
  edge?: EdgeControl;
  /** Deploy a branch's ephemeral instance instead (src/ops/instance/branches.ts). */
  branchTarget?: BranchTarget;
  /** Called under the instance's lock once the plan ran, before the edge is synced. */
  onApplied?: () => void;
  /** The edge does not route the instance yet (a new branch): routed even when nothing else changes. */
  newRoute?: boolean;
}

export interface DeployResult {
  project: string;
  instance: string;
  plan: Plan;
  planText: string;
  applied: boolean;
  /** Where the instance answers on this host (nginx, through a loopback port). */
  localUrl?: string;
  /** Where it answers once the edge routes its domain. */
  url: string;
}

export async function deployTest(
  engine: Engine,
  dir: string,
  projectName: string,
  o: DeployTestOptions,
): Promise<DeployResult> {
  const pd = await loadPlatformDir(dir);
  const project = requireProject(pd, projectName).spec;
  const test = project.instances.test;
  if (!test) throw new OdpError('NOT_FOUND', `project ${projectName} declares no test instance`);
  const spec = o.tag
    ? { ...project, instances: { ...project.instances, test: { ...test, tag: o.tag } } }
    : project;

  o.progress.start('preflight', 'pre-flight checks');
  const secrets = await loadProjectSecrets(dir, projectName, { passphraseFile: o.passphraseFile });
  if (!secrets) throw new OdpError('SECRETS_NO_PASSPHRASE', `no secrets for ${projectName}`);
  refuseViolations(pd, projectName, o.progress);
  const { stack, missingSecrets } = composeStack(pd.platform, spec, 'test', secrets, o.branchTarget);
  if (missingSecrets.length) {
    throw new OdpError('DEPLOY_FAILED', `${stack.name} lacks secrets: ${missingSecrets.join(', ')}`, {
      hint: `odp secrets set ${projectName} KEY --instance test --stdin`,
    });
  }
  await engine.ping();
  const imageIds = await resolveImages(engine, stack);
  await checkNginx(engine, stack, imageIds, dir);
  o.progress.done('preflight');

  // A branch instance is its own instance: its own label, lock and observation.
  const instance = o.branchTarget?.instanceLabel ?? 'test';
  const key = `${projectName}-${instance}`;
  return withInstanceLock(
    dir,
    key,
    { wait: o.wait ?? true, onWait: (h) => o.progress.note(`waiting for ${h}`) },
    async () => {
      const observed = await engine.observe({
        platform: pd.platform.name,
        project: projectName,
        instance,
      });
      const plan = planStack({ stack, imageIds, observed, freshOnChange: true });
      if (plan.steps.length > 0 || o.newRoute)
        plan.edge = await planEdgeRoute(pd, stack.domain, o, lastSteps(plan.steps));
      const result: DeployResult = {
        project: projectName,
        instance,
        plan,
        planText: formatPlan(plan),
        applied: false,
        url: `https://${stack.domain}/`,
      };
      if (o.dryRun || (plan.steps.length === 0 && plan.edge.length === 0))
        return { ...result, ...(await localUrl(engine, pd, stack, instance)) };
      o.onPlan?.(plan);
      await applyPlan(engine, plan, {
        labels: {
          'odp.platform': pd.platform.name,
          'odp.project': projectName,
          'odp.instance': instance,
          ...(o.branchTarget ? { 'odp.branch': o.branchTarget.branch } : {}),
        },
        healthTimeoutMs: o.healthTimeoutMs ?? 10 * 60_000,
        progress: o.progress,
      });
      o.onApplied?.();
      if (o.edge && plan.edge.length > 0) {
        // The edge's own health checks must see the instance: the deploy's deadline, not a
        // fixed minute, so a busy host is given the time the user allowed.
        await runEdgePlan(plan.edge, {
          pd,
          edge: o.edge,
          progress: o.progress,
          timeoutMs: o.healthTimeoutMs ?? 10 * 60_000,
          certificates: [],
        });
      }
      return {
        ...result,
        applied: plan.steps.length > 0,
        ...(await localUrl(engine, pd, stack, instance)),
      };
    },
  );
}

/**
 * The sidecar's configuration, checked by the nginx binary of the image that
 * will run it; a configuration that image already accepted is not checked again.
 */
async function checkNginx(
  engine: Engine,
  stack: Stack,
  imageIds: Record<string, string>,
  dir: string,
): Promise<void> {
  const nginx = serviceByRole(stack, 'nginx');
  const conf = nginx?.env.get('NGINX_CONF');
  if (!nginx || conf === undefined) return;
  const digest = createHash('sha256')
    .update(`${imageIds[nginx.image] ?? ''}\0${revealEnv(conf)}`)
    .digest('hex');
  const db = openState(dir);
  try {
    if (db.prepare('SELECT 1 FROM validated_configs WHERE digest = ?').get(digest)) return;
    // A sidecar told its Odoo's name at run time (Swarm) is checked with a stand-in name.
    const peer = nginx.peerHostEnv ? { [nginx.peerHostEnv]: 'odoo' } : {};
    const r = await engine.runOneOff(nginx.image, ['nginx', '-t'], { NGINX_CONF: revealEnv(conf), ...peer });
    if (r.exitCode !== 0) {
      throw new OdpError('DEPLOY_FAILED', `nginx refuses the sidecar configuration of ${stack.name}`, {
        detail: r.output.trim(),
        hint: 'Nothing was changed.',
      });
    }
    db.prepare('INSERT OR IGNORE INTO validated_configs (digest, what, at) VALUES (?, ?, ?)').run(
      digest,
      `nginx ${nginx.image}`,
      new Date().toISOString(),
    );
  } finally {
    db.close();
  }
}

async function localUrl(
  engine: Engine,
  pd: PlatformDir,
  stack: Stack,
  instance: string,
): Promise<{ localUrl?: string }> {
  const observed = await engine.observe({ platform: pd.platform.name, project: stack.project, instance });
  const odoo = observed.units.find((u) => u.service === 'odoo' && u.replica === 1);
  return odoo ? unitUrl(engine, odoo.name) : {};
}
