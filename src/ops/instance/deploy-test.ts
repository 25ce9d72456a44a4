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
import { loadPlatformDir, requireProject, type PlatformDir } from '../../platformdir/load.js';
import { revealEnv } from '../../secret.js';
import { runRules } from '../../platform-spec/rules/index.js';
import { openState } from '../../state/db.js';
import { withInstanceLock } from '../../state/lock.js';
import { applyPlan } from './apply-plan.js';
import type { Progress } from '../../progress.js';
import type { EdgeControl } from '../edge/edge-sync.js';
import { resolveImages } from './preflight.js';
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
  refuseViolations(pd, projectName);
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
      const result: DeployResult = {
        project: projectName,
        instance,
        plan,
        planText: formatPlan(plan),
        applied: false,
        url: `https://${stack.domain}/`,
      };
      if (o.dryRun || plan.steps.length === 0)
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
      await throughEdge(pd, stack.domain, o);
      return { ...result, applied: true, ...(await localUrl(engine, pd, stack, instance)) };
    },
  );
}

/** With the platform's edge up: route the instance (a new project is a new route) and wait for it. */
export async function throughEdge(
  pd: PlatformDir,
  domain: string,
  o: Pick<DeployTestOptions, 'edge' | 'progress' | 'healthTimeoutMs'>,
): Promise<void> {
  if (!o.edge || !(await o.edge.running(pd))) return;
  if (pd.broken.size > 0) {
    // The edge keeps its routes until every project file loads again (see syncEdge).
    o.progress.note(
      `warning: the edge is not updated: ${[...pd.broken.keys()].join(', ')} do not load (odp check)`,
    );
    return;
  }
  o.progress.start('edge', `route ${domain} through the edge`);
  await o.edge.sync(pd);
  // The edge's own health checks must see the instance: the deploy's deadline, not a
  // fixed minute, so a busy host is given the time the user allowed.
  if (!(await o.edge.waitRouted(pd, domain, o.healthTimeoutMs ?? 10 * 60_000))) {
    o.progress.fail('edge', 'the edge does not answer for it yet');
    o.progress.note(`warning: ${domain} is up but the edge does not route it yet; see odp platform status`);
    return;
  }
  o.progress.done('edge');
  // A new instance gets its certificate now, not on go-live day; a held one is kept.
  const [cert] = await o.edge.certify(pd, { domains: [domain] });
  if (cert?.action === 'failed')
    o.progress.note(`warning: no certificate for ${domain} yet: ${cert.reason ?? ''}`);
}

function refuseViolations(pd: PlatformDir, project: string): void {
  const loaded = pd.projects.get(project)!;
  const violations = runRules({
    platform: pd.platform,
    platformFile: pd.platformFile,
    locatePlatform: pd.locatePlatform,
    projects: [loaded],
    trackedPlaintextSecrets: [],
  });
  if (violations.length) {
    throw new OdpError('CHECK_FAILED', `${project} does not pass odp check`, {
      problems: violations.map((v) => ({ ...v, path: v.rule })),
    });
  }
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
    const r = await engine.runOneOff(nginx.image, ['nginx', '-t'], { NGINX_CONF: revealEnv(conf) });
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
