// `POST /hooks/publish`: `odp publish` says it pushed a project's test image
// (a master build, tag `latest`). The image exists, so the redeploy queued
// here does not wait for it. Signed and replay-checked like GitHub's.
import * as z from 'zod';
import type { PlatformDir } from '../platformdir/load.js';
import { enqueue } from '../state/jobs.js';
import { ignored, record } from './delivery.js';
import type { Delivery, HookContext, Reply } from './hook-context.js';

const notice = z.object({
  project: z.string().regex(/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/, 'expected a project name'),
  instance: z.string().min(1).max(40),
  image: z.string().min(1).max(300),
  tag: z.string().min(1).max(128),
  revision: z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'expected a commit id'),
});

export async function publishNotice(
  ctx: HookContext,
  d: Delivery,
  loadPlatform: () => Promise<PlatformDir | Reply>,
): Promise<Reply> {
  let data: unknown;
  try {
    data = JSON.parse(d.body.toString('utf8'));
  } catch {
    return { status: 400, body: { error: 'the body is not JSON' } };
  }
  const r = notice.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0];
    return {
      status: 400,
      body: { error: `publish notice: ${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'}` },
    };
  }
  // The spec is read only for a well-formed delivery: malformed ones cost no file reads.
  const pd = await loadPlatform();
  if ('status' in pd) return pd;
  const n = r.data;
  const project = pd.projects.get(n.project)?.spec;
  if (!project) return { status: 404, body: { error: `no project ${n.project}` } };
  if (!sameRepository(project.image, n.image)) {
    return { status: 400, body: { error: `image ${n.image} is not ${n.project}'s image ${project.image}` } };
  }
  const test = project.instances.test;
  return record(ctx, d, () => {
    if (n.instance !== 'test') return ignored(`a publish redeploys test only, not ${n.instance}`);
    if (!test) return ignored(`${n.project} declares no test instance`);
    if (n.tag !== test.tag) return ignored(`${n.project}/test runs tag ${test.tag}, not ${n.tag}`);
    const payload = { source: 'publish', delivery: d.id, sha: n.revision, published: true };
    const { job, superseded } = enqueue(ctx.db, {
      project: n.project,
      instance: 'test',
      kind: 'deploy-test',
      payload,
      deadline: new Date(Date.now() + ctx.imageWaitMs),
    });
    ctx.log({
      event: 'job-queued',
      job: job.id,
      kind: job.kind,
      project: n.project,
      instance: 'test',
      superseded,
    });
    return {
      outcome: 'queued',
      jobIds: [job.id],
      reply: { status: 202, body: { status: 'queued', jobs: [job.id] } },
    };
  });
}

/** The spec's repository, with or without the registry host the publisher pushed to. */
function sameRepository(spec: string, published: string): boolean {
  return spec === published || published.endsWith(`/${spec}`) || spec.endsWith(`/${published}`);
}
