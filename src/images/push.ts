// `odp images push`: each image of the push plan (push-plan.ts) that the engine
// holds is tagged `<registry>/<repository>:<tag>` and pushed there, one tag at
// a time; the result is the digest the registry stored, which a swarm then
// runs (docs/decisions/0070). Nothing is written to the platform directory.
import type { ImageStore, RegistryCredentials } from '../engines/images.js';
import { OdpError } from '../errors.js';
import { splitTag } from '../model/image-ref.js';
import { silentProgress, type Progress } from '../progress.js';
import type { PushTarget } from './push-plan.js';

export interface PushedImage extends PushTarget {
  /** absent: a project's image this engine does not hold (the others are required). */
  status: 'pushed' | 'would push' | 'absent';
  /** `sha256:…`, once pushed. */
  digest?: string;
}

export interface PushOptions {
  credentials?: RegistryCredentials;
  dryRun?: boolean;
  progress?: Progress;
}

export async function pushImages(
  images: ImageStore,
  plan: readonly PushTarget[],
  o: PushOptions = {},
): Promise<PushedImage[]> {
  const progress = o.progress ?? silentProgress;
  const held = await Promise.all(plan.map(async (t) => (await images.inspect(t.image)) !== undefined));
  // Checked before anything is pushed: a swarm cannot run a platform image its registry lacks.
  const missing = plan.filter((t, i) => !held[i] && !t.project).map((t) => t.image);
  if (missing.length)
    throw new OdpError('NOT_FOUND', `this engine does not hold ${missing.join(', ')}`, {
      hint: 'Build them first (`odp images build`), or name the images to push (`odp images push redis nginx`).',
    });
  const out: PushedImage[] = [];
  for (const [i, t] of plan.entries()) {
    if (!held[i]) out.push({ ...t, status: 'absent' });
    else if (o.dryRun) out.push({ ...t, status: 'would push' });
    else out.push({ ...t, status: 'pushed', digest: await pushOne(images, t, o.credentials, progress) });
  }
  return out;
}

async function pushOne(
  images: ImageStore,
  t: PushTarget,
  credentials: RegistryCredentials | undefined,
  progress: Progress,
): Promise<string> {
  const { repository, tag } = splitTag(t.target);
  progress.start(t.target, `push ${t.image} to ${t.target}`);
  try {
    if (t.target !== t.image) await images.tag(t.image, t.target);
    const digest =
      (await images.push(repository, tag, credentials).catch((e: unknown) => {
        throw pushFailed(e, repository.slice(0, repository.indexOf('/')), CREDENTIALS_HINT);
      })) ??
      (await images.inspect(t.target))?.repoDigests
        .find((d) => d.startsWith(`${repository}@`))
        ?.split('@')[1];
    if (!digest) throw new OdpError('ENGINE', `pushed ${t.target} but the engine gave no digest for it`);
    progress.done(t.target, `pushed ${t.target} ${digest}`);
    return digest;
  } catch (e) {
    progress.fail(t.target, (e as Error).message.split('\n')[0]!);
    throw e;
  }
}

const CREDENTIALS_HINT =
  'Set registry.username in platform.yaml and its password with `odp platform secrets set REGISTRY_PASSWORD --stdin`.';

/**
 * A failed push, with what to do: the registry refused the credentials, speaks
 * plain HTTP to an engine that expects TLS, or did not answer.
 */
export function pushFailed(e: unknown, registry: string, credentialsHint: string): OdpError {
  const message = (e as Error).message;
  const hint = /unauthorized|authentication required|no basic auth|denied/i.test(message)
    ? credentialsHint
    : /HTTP response to HTTPS client/i.test(message)
      ? `The registry ${registry} speaks plain HTTP: start the engine with --insecure-registry ${registry}, or serve the registry over TLS.`
      : `Check that the registry ${registry} answers from the engine odp talks to (DOCKER_HOST).`;
  return new OdpError('ENGINE', message, { cause: e, hint });
}
