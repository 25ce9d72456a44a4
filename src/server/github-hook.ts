// What a verified GitHub delivery does: a push to the main branch queues a
// test redeploy of each project of that repository, a push to another branch
// deploys that branch's instance, a deleted branch removes it, a release tag
// records the version as deployable. The delivery id is kept with the work in
// one transaction, so a replay does nothing.
import type { PlatformDir } from '../platformdir/load.js';
import { branchInstance, enqueue, recordVersion } from '../state/jobs.js';
import { matchRepository, parseGithubDelivery, type GithubEvent } from '../webhooks/github.js';
import { ignored, record, type Done } from './delivery.js';
import type { Delivery, HookContext, Reply } from './hook-context.js';

export async function githubDelivery(
  ctx: HookContext,
  d: Delivery,
  loadPlatform: () => Promise<PlatformDir | Reply>,
): Promise<Reply> {
  const parsed = parseGithubDelivery(d.event, d.body);
  if (parsed.outcome === 'invalid') {
    ctx.log({ event: 'webhook-refused', source: 'github', delivery: d.id, why: parsed.reason });
    return { status: 400, body: { error: parsed.reason } };
  }
  if (parsed.outcome === 'ignored') return record(ctx, d, () => ignored(parsed.reason));
  const ev = parsed.event;
  if (ev.kind === 'ping')
    return record(ctx, d, () => ({ outcome: 'pong', reply: { status: 200, body: { status: 'pong' } } }));
  // The spec is read only for a well-formed delivery: malformed ones cost no file reads.
  const pd = await loadPlatform();
  if ('status' in pd) return pd;
  const specs = [...pd.projects.values()].map((p) => p.spec);
  const { projects, reason } = matchRepository(specs, ev.repo);
  if (projects.length === 0) return record(ctx, d, () => ignored(reason ?? 'no project has this repository'));
  return record(ctx, d, () => act(ctx, d, ev, projects, pd));
}

function act(
  ctx: HookContext,
  d: Delivery,
  ev: Exclude<GithubEvent, { kind: 'ping' }>,
  projects: string[],
  pd: PlatformDir,
): Done {
  const origin = { source: 'github', delivery: d.id };
  const deadline = new Date(Date.now() + ctx.imageWaitMs);
  if (ev.kind === 'version-tag') {
    for (const p of projects) recordVersion(ctx.db, p, ev.version, ev.sha);
    for (const p of projects)
      ctx.log({ event: 'deployable-version', project: p, version: ev.version, sha: ev.sha ?? null });
    return {
      outcome: 'recorded',
      reply: { status: 200, body: { status: 'recorded', version: ev.version, projects } },
    };
  }
  const main = ev.branch === ctx.mainBranch;
  if (ev.kind === 'branch-deleted' && main)
    return ignored(`the main branch ${ev.branch} was deleted: nothing removed`);
  const jobs = projects.flatMap((project) => {
    if (ev.kind === 'branch-deleted') {
      const payload = { ...origin, branch: ev.branch };
      return [
        enqueue(ctx.db, { project, instance: branchInstance(ev.branch), kind: 'remove-branch', payload }),
      ];
    }
    if (main) {
      // A project without a test instance has nothing to redeploy.
      if (!pd.projects.get(project)?.spec.instances.test) return [];
      const payload = { ...origin, sha: ev.sha };
      return [enqueue(ctx.db, { project, instance: 'test', kind: 'deploy-test', payload, deadline })];
    }
    const payload = { ...origin, branch: ev.branch, sha: ev.sha };
    return [
      enqueue(ctx.db, {
        project,
        instance: branchInstance(ev.branch),
        kind: 'deploy-branch',
        payload,
        deadline,
      }),
    ];
  });
  if (jobs.length === 0) return ignored('no project of this repository has a test instance');
  for (const { job, superseded } of jobs) {
    ctx.log({
      event: 'job-queued',
      job: job.id,
      kind: job.kind,
      project: job.project,
      instance: job.instance,
      superseded,
    });
  }
  const jobIds = jobs.map((j) => j.job.id);
  return { outcome: 'queued', jobIds, reply: { status: 202, body: { status: 'queued', jobs: jobIds } } };
}
