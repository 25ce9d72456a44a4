// Branch instances: an ephemeral test instance per git branch, on its own
// domain, made exactly like the project's test instance (the same flow, the
// small data set, its own database and Redis), recorded in the state so the
// edge routes it, and removed when the branch is deleted or goes quiet.
// `odp serve` calls these for webhooks (push, delete) and its scheduler.
import { branchTarget, isBranchTag } from '../../compose/branch.js';
import type { Engine } from '../../engines/engine.js';
import type { ImageStore } from '../../engines/images.js';
import { OdpError } from '../../errors.js';
import type { Plan } from '../../plan/plan.js';
import { loadPlatformDir, requireProject } from '../../platformdir/load.js';
import { recordBranchDeploy, slugOwner } from '../../state/branches.js';
import { deployTest, type DeployResult } from './deploy-test.js';
import type { EdgeControl } from '../edge/edge-sync.js';
import type { Progress } from '../../progress.js';

// Their removal (a deleted branch, expiry, `odp destroy --branch`) is a plan of its own.
export { expireBranches, removeBranch, type RemoveBranchOptions } from './branch-removal.js';

export interface DeployBranchOptions {
  /** The image tag; default: the newest local `<image>:<slug>-<sha>` that `odp publish` pushed. */
  tag?: string;
  /** Where the newest branch tag is looked up when `tag` is not given. */
  images?: ImageStore;
  dryRun?: boolean;
  progress: Progress;
  edge?: EdgeControl;
  healthTimeoutMs?: number;
  passphraseFile?: string;
  wait?: boolean;
  onPlan?: (plan: Plan) => void;
}

export interface BranchDeployResult extends DeployResult {
  branch: string;
  slug: string;
  tag: string;
  domain: string;
}

export async function deployBranch(
  engine: Engine,
  dir: string,
  project: string,
  branch: string,
  o: DeployBranchOptions,
): Promise<BranchDeployResult> {
  const pd = await loadPlatformDir(dir);
  const spec = requireProject(pd, project).spec;
  const target = branchTarget(spec, branch);
  const owner = slugOwner(dir, project, target.slug);
  if (owner !== undefined && owner !== branch) {
    throw new OdpError('ALREADY_EXISTS', `branch ${branch} would use ${target.slug}, the slug of ${owner}`, {
      hint: `Remove the other one first: odp destroy ${project} test --branch ${owner}`,
    });
  }
  const tag = o.tag ?? (await newestBranchTag(engine, o.images, spec.image, target.slug, branch));
  const record = () =>
    recordBranchDeploy(dir, {
      project,
      branch,
      slug: target.slug,
      stack: target.stackName,
      domain: target.domain,
      tag,
    });
  let recordedNow = false;
  const r = await deployTest(engine, dir, project, {
    tag,
    progress: o.progress,
    branchTarget: target,
    // A branch not recorded yet is not routed yet: the edge learns its domain even if nothing else changes.
    newRoute: owner === undefined,
    // Recorded before the edge is synced, so that sync routes the new domain.
    onApplied: () => {
      record();
      recordedNow = true;
    },
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.edge ? { edge: o.edge } : {}),
    ...(o.healthTimeoutMs ? { healthTimeoutMs: o.healthTimeoutMs } : {}),
    ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
    ...(o.wait !== undefined ? { wait: o.wait } : {}),
    ...(o.onPlan ? { onPlan: o.onPlan } : {}),
  });
  // Nothing to change is still a deploy of the branch: it keeps it from expiring.
  if (!o.dryRun && !recordedNow) record();
  return { ...r, branch, slug: target.slug, tag, domain: target.domain };
}

/**
 * The tag of the newest local image `odp publish` made for this branch
 * (`<slug>-<short sha>`). Without an image store to ask, the tag must be given.
 */
async function newestBranchTag(
  engine: Engine,
  store: ImageStore | undefined,
  image: string,
  slug: string,
  branch: string,
): Promise<string> {
  const expected = `${image}:${slug}-<short sha>`;
  if (!store) throw new OdpError('USAGE', `no image store to list images: pass --tag (${expected})`);
  await engine.ping();
  const images = await store.list(`${image}:${slug}-*`);
  const candidates = images.flatMap((i) =>
    i.tags
      .filter((t) => t.startsWith(`${image}:`) && isBranchTag(slug, t.slice(image.length + 1)))
      .map((t) => ({ tag: t.slice(image.length + 1), id: i.id })),
  );
  if (candidates.length === 0) {
    throw new OdpError('NOT_FOUND', `no image ${expected} for branch ${branch}`, {
      hint: 'odp publish on the branch builds and pushes it; or pass --tag TAG.',
    });
  }
  // Creation to the nanosecond: two builds within one second still order.
  const created = new Map<string, bigint>();
  for (const id of new Set(candidates.map((c) => c.id)))
    created.set(id, nanos((await store.inspect(id))?.created ?? ''));
  candidates.sort((a, b) => {
    const d = created.get(b.id)! - created.get(a.id)!;
    return d > 0n ? 1 : d < 0n ? -1 : b.tag.localeCompare(a.tag);
  });
  return candidates[0]!.tag;
}

function nanos(iso: string): bigint {
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) return BigInt(Date.parse(iso) || 0) * 1_000_000n;
  const seconds = BigInt(Math.floor(Date.parse(`${m[1]}${m[3]}`) / 1000));
  return seconds * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9));
}
