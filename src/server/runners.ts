// What the jobs of `odp serve` run. `deploy-test` is the real test deploy
// (src/ops/instance/deploy-test.ts), recorded in the history like `odp deploy`; it
// starts only once the image of the pushed commit is published: the test tag
// must carry `org.opencontainers.image.revision` equal to the commit, until
// then the job waits (RetryLater). A publish notice says the image exists.
import type { Engine } from '../engines/engine.js';
import type { ImageStore } from '../engines/images.js';
import { OdpError } from '../errors.js';
import { branchTag } from '../compose/branch.js';
import { deployBranch, removeBranch } from '../ops/instance/branches.js';
import { deployTest } from '../ops/instance/deploy-test.js';
import type { EdgeControl } from '../ops/edge/edge-sync.js';
import type { Progress } from '../progress.js';
import { loadPlatformDir, requireProject } from '../platformdir/load.js';
import { recorded } from '../state/history.js';
import type { Job } from '../state/jobs.js';
import { RetryLater, type JobRunner, type Log } from './worker.js';

export const REVISION_LABEL = 'org.opencontainers.image.revision';

export interface DeployTestPayload {
  /** The commit the instance must run. */
  sha?: string;
  /** True when `odp publish` sent it: the image exists, no label to wait for. */
  published?: boolean;
  source?: string;
  delivery?: string;
}

export function deployTestRunner(o: {
  engine: Engine;
  images: ImageStore;
  dir: string;
  edge?: EdgeControl;
  healthTimeoutMs?: number;
}): JobRunner {
  return async (job: Job, log: Log) => {
    const payload = job.payload as DeployTestPayload;
    const spec = requireProject(await loadPlatformDir(o.dir), job.project).spec;
    const tag = spec.instances.test?.tag;
    if (!tag) throw new OdpError('NOT_FOUND', `project ${job.project} declares no test instance`);
    const ref = `${spec.image}:${tag}`;
    if (hasRegistryHost(spec.image)) await pull(o.images, ref, log);
    if (payload.sha && !payload.published) {
      const revision = await revisionOf(o.images, ref);
      if (revision === null) throw new RetryLater(`${ref} is not there yet`);
      if (revision !== payload.sha) {
        throw new RetryLater(
          `${ref} is revision ${revision || '(no label)'}, waiting for ${short(payload.sha)}`,
        );
      }
    }
    const progress = jobProgress(log);
    const r = await recorded(
      o.dir,
      { project: job.project, instance: 'test', kind: 'deploy', version: tag },
      progress,
      (p) =>
        deployTest(o.engine, o.dir, job.project, {
          progress: p,
          wait: true,
          ...(o.edge ? { edge: o.edge } : {}),
          ...(o.healthTimeoutMs ? { healthTimeoutMs: o.healthTimeoutMs } : {}),
        }),
    );
    const what = payload.sha ? ` at ${short(payload.sha)}` : '';
    return r.applied ? `deployed ${job.project}/test${what}` : `${job.project}/test is up to date${what}`;
  };
}

/**
 * `deploy-branch`: the branch's own test instance at the pushed commit, once
 * `odp publish` built `<image>:<slug>-<short sha>` (until then it waits).
 */
export function deployBranchRunner(o: {
  engine: Engine;
  images: ImageStore;
  dir: string;
  edge?: EdgeControl;
  healthTimeoutMs?: number;
}): JobRunner {
  return async (job: Job, log: Log) => {
    const { branch, sha } = job.payload as { branch?: string; sha?: string };
    if (!branch || !sha) throw new OdpError('USAGE', `job ${job.id} names no branch and commit`);
    const spec = requireProject(await loadPlatformDir(o.dir), job.project).spec;
    const tag = branchTag(branch, sha);
    const ref = `${spec.image}:${tag}`;
    if (hasRegistryHost(spec.image)) await pull(o.images, ref, log);
    if ((await revisionOf(o.images, ref)) === null) throw new RetryLater(`${ref} is not there yet`);
    const r = await recorded(
      o.dir,
      { project: job.project, instance: job.instance, kind: 'deploy', version: tag },
      jobProgress(log),
      (p) =>
        deployBranch(o.engine, o.dir, job.project, branch, {
          tag,
          progress: p,
          wait: true,
          ...(o.edge ? { edge: o.edge } : {}),
          ...(o.healthTimeoutMs ? { healthTimeoutMs: o.healthTimeoutMs } : {}),
        }),
    );
    return `deployed ${job.project}/test@${branch} at ${short(sha)} on ${r.domain}`;
  };
}

/** `remove-branch`: the branch was deleted; its instance goes (nothing to do if it had none). */
export function removeBranchRunner(o: { engine: Engine; dir: string; edge?: EdgeControl }): JobRunner {
  return async (job: Job, log: Log) => {
    const { branch } = job.payload as { branch?: string };
    if (!branch) throw new OdpError('USAGE', `job ${job.id} names no branch`);
    const r = await removeBranch(o.engine, o.dir, job.project, branch, {
      progress: jobProgress(log),
      ...(o.edge ? { edge: o.edge } : {}),
    });
    return r.removed
      ? `removed ${job.project}/test@${branch}`
      : `${job.project}/test@${branch} had no instance`;
  };
}

/** `registry.example.com/acme/x`, `localhost:5000/x`: a name another engine can pull. */
export function hasRegistryHost(image: string): boolean {
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
}

/** The image's revision label: '' without one, null when the image is not here. */
async function revisionOf(images: ImageStore, ref: string): Promise<string | null> {
  const info = await images.inspect(ref);
  return info ? (info.labels[REVISION_LABEL] ?? '') : null;
}

/** Pulls a newer image behind the tag; an unreachable registry leaves the local one (logged). */
async function pull(images: ImageStore, ref: string, log: Log): Promise<void> {
  try {
    await images.pull(ref);
  } catch (e) {
    log({ event: 'pull-failed', image: ref, detail: (e as Error).message });
  }
}

/** Deploy steps as log lines of the job. */
function jobProgress(log: Log): Progress {
  const texts = new Map<string, string>();
  return {
    start: (key, text) => {
      texts.set(key, text);
      log({ event: 'step', step: text });
    },
    done: (key, text) => log({ event: 'step-done', step: text ?? texts.get(key) ?? key }),
    fail: (key, text) => log({ event: 'step-failed', step: texts.get(key) ?? key, detail: text }),
    note: (text) => log({ event: 'note', detail: text }),
  };
}

function short(sha: string): string {
  return sha.slice(0, 12);
}
