// `odp publish`: what CI runs after the tests of an Odoo project. It reads
// which build this is from git (and GitHub's variables on a detached HEAD),
// builds the project's image, labels it with the commit and version, pushes the
// tag the original platform's rules give, and after a build of the main branch
// asks the platform (`odp serve`) to redeploy the test instance. Everything is
// checked before anything is built; credentials stay in Secret values.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { simpleGit, type SimpleGit } from 'simple-git';
import tar from 'tar-stream';
import type { ImageStore } from '../../engines/images.js';
import { OdpError } from '../../errors.js';
import { buildProjectImage } from '../../images/project.js';
import { pushFailed } from '../../images/push.js';
import {
  checkImageName,
  hookUrl,
  notifyBody,
  registryAuth,
  checkRegistry,
  DEFAULT_MAIN_BRANCH,
  detectRef,
  imageLabels,
  LABEL_REVISION,
  publishTags,
  type DetectedRef,
  type RegistryAuth,
} from '../../release/publish-tags.js';
import { Secret } from '../../secret.js';
import { parseEnvFile } from '../../secrets/envfile.js';
import { decodeText } from '../../secrets/lock.js';
import { readSecretsBytes } from '../../secrets/store.js';
import { slug } from '../../platform-spec/common.js';
import { PUBLISH_SIGNATURE_HEADER, signDelivery } from '../../webhooks/sign.js';
import { silentProgress, type Progress } from '../../progress.js';

export interface PublishOptions {
  /** A directory inside the project's git repository. */
  repo: string;
  registry?: string;
  image?: string;
  mainBranch?: string;
  /** The platform server's base URL; `/hooks/publish` is appended. */
  notify?: string;
  project?: string;
  /** An encrypted env file with REGISTRY_USER, REGISTRY_PASSWORD (and WEBHOOK_SECRET). */
  secretsFile?: string;
  passphraseFile?: string;
  keyFile?: string;
  env?: NodeJS.ProcessEnv;
}

export interface PublishPlan {
  repo: string;
  ref: DetectedRef;
  sha: string;
  version: string;
  /** `<registry>/<image>`, without a tag. */
  repository: string;
  tags: string[];
  labels: Record<string, string>;
  credentials: RegistryAuth['credentials'];
  notify?: { url: string; project: string; instance: 'test' };
  /** Why a configured notify target is not used by this build. */
  notifySkipped?: string;
}

/** Kept apart from the plan, which is printed and serialised. */
export interface PublishSecrets {
  auth?: RegistryAuth['auth'];
  webhook?: Secret;
}

export interface PublishResult extends PublishPlan {
  pushed: { reference: string; digest?: string }[];
  notified?: { url: string; delivery: string; status: number; ok: boolean; answer: string };
}

const INSTANCE = 'test';

/** Reads and checks everything a publish needs; changes nothing. */
export async function planPublish(
  o: PublishOptions,
): Promise<{ plan: PublishPlan; secrets: PublishSecrets }> {
  const env = o.env ?? process.env;
  const registry = required(o.registry ?? env.ODP_REGISTRY, '--registry HOST[:PORT] or ODP_REGISTRY');
  const image = required(o.image ?? env.ODP_IMAGE, '--image NAME or ODP_IMAGE');
  const repository = `${checkRegistry(registry)}/${checkImageName(image)}`;
  const mainBranch = o.mainBranch || env.ODP_MAIN_BRANCH || DEFAULT_MAIN_BRANCH;

  const repo = await simpleGit({ baseDir: path.resolve(o.repo) })
    .revparse(['--show-toplevel'])
    .catch(() => {
      throw new OdpError('NOT_FOUND', `${o.repo} is not inside a git repository`, {
        hint: 'Run odp publish in the Odoo project repository, or pass --repo DIR.',
      });
    });
  // Paths below (the odoo/ pathspec) are relative to the repository's top.
  const git = simpleGit({ baseDir: repo });
  const odoo = path.join(repo, 'odoo');
  if (!existsSync(path.join(odoo, 'Dockerfile')))
    throw new OdpError('NOT_FOUND', `no odoo/Dockerfile in ${repo}`, {
      hint: 'odp publish builds the image from the project template layout: odoo/Dockerfile, odoo/VERSION.',
    });
  const version = await readFile(path.join(odoo, 'VERSION'), 'utf8').then(
    (t) => t.trim(),
    () => {
      throw new OdpError('NOT_FOUND', `no odoo/VERSION in ${repo}`);
    },
  );
  const sha = await git.revparse(['HEAD']).catch(() => {
    throw new OdpError('NOT_FOUND', `${repo} has no commit yet`);
  });
  await refuseDirty(git);
  const ref = detectRef({
    sha,
    ...(await currentBranch(git)),
    tagsAtHead: lines(await git.raw(['tag', '--points-at', 'HEAD'])),
    env: { GITHUB_REF: env.GITHUB_REF, GITHUB_SHA: env.GITHUB_SHA },
  });
  const tags = publishTags(ref, { sha, version, mainBranch });
  const remotes = await git.getRemotes(true);
  const remote = (remotes.find((r) => r.name === 'origin') ?? remotes[0])?.refs.fetch;
  const labels = imageLabels({ sha, version, ...(remote ? { remote } : {}) });

  // Encrypted with a passphrase, or to recipients (CI's key in ODP_KEY_FILE).
  const fileValues = o.secretsFile
    ? parseEnvFile(
        await decodeText(await readSecretsBytes(o.secretsFile), o.secretsFile, {
          passphraseFile: o.passphraseFile,
          keyFile: o.keyFile,
        }),
        o.secretsFile,
      )
    : undefined;
  const { auth, credentials } = registryAuth(env, fileValues, o.secretsFile);

  const plan: PublishPlan = { repo, ref, sha, version, repository, tags, labels, credentials };
  const secrets: PublishSecrets = auth ? { auth } : {};
  const notifyBase = o.notify ?? env.ODP_SERVER_URL;
  if (notifyBase) {
    const url = hookUrl(notifyBase);
    if (!tags.includes('latest')) {
      plan.notifySkipped = `only a build of ${mainBranch} redeploys the test instance`;
    } else {
      const project = required(o.project ?? env.ODP_PROJECT, '--project NAME or ODP_PROJECT (to notify)');
      if (!slug.safeParse(project).success)
        throw new OdpError('USAGE', `project "${project}" is not a project name such as acme`);
      const webhook = env.ODP_WEBHOOK_SECRET || fileValues?.get('WEBHOOK_SECRET')?.reveal();
      if (!webhook)
        throw new OdpError('USAGE', 'no webhook secret to sign the redeploy request with', {
          hint: 'Set ODP_WEBHOOK_SECRET (or WEBHOOK_SECRET in --secrets-file) to the secret `odp serve` verifies.',
        });
      secrets.webhook = new Secret(webhook);
      plan.notify = { url, project, instance: INSTANCE };
    }
  }
  return { plan, secrets };
}

/** Builds, labels and pushes; then notifies. A failed notify is reported in the result, not thrown. */
export async function runPublish(
  images: ImageStore,
  plan: PublishPlan,
  secrets: PublishSecrets,
  progress: Progress = silentProgress,
): Promise<PublishResult> {
  const result: PublishResult = { ...plan, pushed: [] };
  if (plan.tags.length === 0) return result;
  for (const tag of plan.tags) {
    const reference = `${plan.repository}:${tag}`;
    await buildLabelled(images, plan, tag, progress);
    progress.start(`push ${reference}`, `push ${reference}`);
    const digest = await push(images, plan.repository, tag, secrets);
    progress.done(`push ${reference}`, `pushed ${reference}${digest ? ` ${digest}` : ''}`);
    result.pushed.push({ reference, ...(digest ? { digest } : {}) });
  }
  if (plan.notify && secrets.webhook) result.notified = await notify(plan, secrets.webhook, progress);
  return result;
}

/**
 * The project's image, then a label-only image on top carrying this commit's
 * labels. The content build keeps its input-hash cache (an unchanged odoo/
 * directory is not rebuilt) while each commit still gets its own revision.
 * The content tag is per target tag, so publishes of two refs at once on one
 * engine never label each other's build, and it is dropped afterwards.
 */
async function buildLabelled(images: ImageStore, plan: PublishPlan, tag: string, progress: Progress) {
  const reference = `${plan.repository}:${tag}`;
  const content = `odp-publish/${plan.repository.slice(plan.repository.indexOf('/') + 1)}:${tag}`;
  progress.start(`build ${reference}`, `build ${reference}`);
  await buildProjectImage(images, {
    context: path.join(plan.repo, 'odoo'),
    tag: content,
    onProgress: (e) => {
      if (e.phase === 'building' && e.detail?.startsWith('Step')) progress.note(e.detail);
    },
  });
  const previous = (await images.inspect(reference))?.id;
  const pack = tar.pack();
  pack.entry({ name: 'Dockerfile', mode: 0o644 }, `FROM ${content}\n`);
  pack.finalize();
  await images.build({
    context: Readable.from(pack, { objectMode: false }),
    tag: reference,
    labels: plan.labels,
    what: `labelling ${reference}`,
  });
  const built = await images.inspect(reference);
  if (built?.labels[LABEL_REVISION] !== plan.sha)
    throw new OdpError('ENGINE', `${reference} was built but does not carry revision ${plan.sha}`);
  // Untag the content image (it stays as the labelled image's parent) and drop
  // the version this build replaced unless something still uses it.
  await images.remove(content);
  if (previous && previous !== built.id) await images.remove(previous);
  progress.done(`build ${reference}`, `built ${reference}`);
}

async function push(
  images: ImageStore,
  repository: string,
  tag: string,
  secrets: PublishSecrets,
): Promise<string | undefined> {
  const registry = repository.slice(0, repository.indexOf('/'));
  return images.push(repository, tag, secrets.auth).catch((e: unknown) => {
    throw pushFailed(
      e,
      registry,
      'Set ODP_REGISTRY_USER and ODP_REGISTRY_PASSWORD, or REGISTRY_USER and REGISTRY_PASSWORD in --secrets-file.',
    );
  });
}

async function notify(
  plan: PublishPlan,
  secret: Secret,
  progress: Progress,
): Promise<PublishResult['notified']> {
  const target = plan.notify!;
  const body = notifyBody(plan.repository, target.project, plan.sha);
  const delivery = randomUUID();
  progress.start('notify', `ask ${target.url} to redeploy ${target.project}/${target.instance}`);
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'odp-publish',
        'x-odp-delivery': delivery,
        // The id and the time are signed with the body: the server refuses a re-sent notice.
        [PUBLISH_SIGNATURE_HEADER]: signDelivery(secret, body, { id: delivery, atMs: Date.now() }),
      },
      signal: AbortSignal.timeout(30_000),
    });
    const answer = (await res.text().catch(() => '')).trim().slice(0, 300);
    const status = `${res.status} ${res.statusText}`.trim();
    if (res.ok) progress.done('notify', `redeploy requested: ${status}`);
    else progress.fail('notify', status);
    return { url: target.url, delivery, status: res.status, ok: res.ok, answer: answer || status };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    progress.fail('notify', cause);
    return { url: target.url, delivery, status: 0, ok: false, answer: `no answer (${cause})` };
  }
}

/** An image built from a tree with uncommitted changes would lie in its revision label. */
async function refuseDirty(git: SimpleGit): Promise<void> {
  const changed = lines(await git.raw(['status', '--porcelain', '--untracked-files=all', '--', 'odoo']));
  if (changed.length)
    throw new OdpError(
      'CONFLICT',
      `odoo/ has uncommitted changes: ${changed.map((l) => l.slice(3)).join(', ')}`,
      {
        hint: 'The image is labelled with the commit it is built from: commit or remove the changes first.',
      },
    );
}

async function currentBranch(git: SimpleGit): Promise<{ branch?: string }> {
  // symbolic-ref fails (exit 1) on a detached HEAD: that is an answer, not an error.
  const name = await git.raw(['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '');
  return name.trim() ? { branch: name.trim() } : {};
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new OdpError('USAGE', `missing ${what}`);
  return value;
}

const lines = (s: string): string[] =>
  s
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean);
