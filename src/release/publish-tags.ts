// Which image tags a CI build publishes, the original platform's rules
// (travis/publish.sh) made explicit: a build of the main branch is `latest`, a
// build of a release tag is that version, any other branch is
// `<branch-slug>-<short sha>`; then where a publish's credentials come from
// and what it posts. Pure: the git, CI and environment facts come in as values.
// The branch tag is compose/branch.ts's rule, the one `odp deploy --branch`
// looks for: one definition, so the publisher and the deployer always agree.
import { branchTag } from '../compose/branch.js';
import { OdpError } from '../errors.js';
import { Secret } from '../secret.js';
import { version as versionSchema } from '../platform-spec/common.js';

/** What git (and the CI environment) say about the commit being built. */
export interface RefFacts {
  /** HEAD's full commit id. */
  sha: string;
  /** The branch HEAD is attached to; undefined when HEAD is detached. */
  branch?: string;
  /** Every tag pointing exactly at HEAD. */
  tagsAtHead: string[];
  /** GitHub Actions' description of the build, read only when HEAD is detached. */
  env?: { GITHUB_REF?: string; GITHUB_SHA?: string };
}

export type RefSource = 'git' | 'GITHUB_REF';

export type DetectedRef =
  | { kind: 'branch'; name: string; source: RefSource }
  | { kind: 'tag'; name: string; source: RefSource }
  /** A pull request's merge ref: the original platform published nothing for those. */
  | { kind: 'pull'; name: string; source: RefSource };

export const DEFAULT_MAIN_BRANCH = 'master';
const SHORT_SHA = 7;
const CI_HINT =
  'Check out a branch, or run where GITHUB_REF (refs/heads/NAME or refs/tags/X.Y.Z) describes the build.';

/** A release version as odoo/VERSION, marabunta and the tags spell it: x.y.z or series.x.y.z. */
export function isReleaseVersion(s: string): boolean {
  return versionSchema.safeParse(s).success;
}

export function detectRef(f: RefFacts): DetectedRef {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(f.sha))
    throw new OdpError('INTERNAL', `not a full commit id: ${f.sha}`);
  // A checked-out branch is what is being built, whatever the environment says.
  if (f.branch !== undefined) return { kind: 'branch', name: f.branch, source: 'git' };
  const ref = f.env?.GITHUB_REF;
  if (ref) {
    const sha = f.env?.GITHUB_SHA;
    if (sha && sha !== f.sha)
      throw new OdpError(
        'CONFLICT',
        `GITHUB_REF describes commit ${sha.slice(0, 12)} (GITHUB_SHA) but HEAD is ${f.sha.slice(0, 12)}`,
        { hint: 'Publish the commit the CI job checked out, or unset GITHUB_REF and GITHUB_SHA.' },
      );
    const m = /^refs\/(heads|tags|pull)\/(.+)$/.exec(ref);
    if (!m) throw new OdpError('USAGE', `GITHUB_REF ${ref} is neither a branch, a tag nor a pull request`);
    const name = m[2]!;
    if (m[1] === 'heads') return { kind: 'branch', name, source: 'GITHUB_REF' };
    if (m[1] === 'pull') return { kind: 'pull', name, source: 'GITHUB_REF' };
    if (!isReleaseVersion(name))
      throw new OdpError('USAGE', `tag ${name} (GITHUB_REF) is not a release version such as 10.1.0`, {
        hint: 'Only release tags (x.y.z or series.x.y.z, as odoo/VERSION) are published.',
      });
    return { kind: 'tag', name, source: 'GITHUB_REF' };
  }
  const versions = f.tagsAtHead.filter(isReleaseVersion).sort();
  if (versions.length === 1) return { kind: 'tag', name: versions[0]!, source: 'git' };
  if (versions.length > 1)
    throw new OdpError(
      'CONFLICT',
      `HEAD is detached and carries several release tags: ${versions.join(', ')}`,
      {
        hint: CI_HINT,
      },
    );
  const other = f.tagsAtHead.length ? ` (its tags ${f.tagsAtHead.join(', ')} are not release versions)` : '';
  throw new OdpError(
    'CONFLICT',
    `HEAD is detached at ${f.sha.slice(0, SHORT_SHA)}${other}: cannot tell which branch or release this build is`,
    { hint: CI_HINT },
  );
}

export interface TagInput {
  sha: string;
  /** odoo/VERSION, trimmed. */
  version: string;
  /** The branch whose builds are `latest`; master by default. */
  mainBranch?: string;
}

/**
 * The tags one build pushes: exactly one, or none for a pull request. A
 * release tag that differs from odoo/VERSION is refused: the image would claim
 * a version its migration file and HISTORY do not describe.
 */
export function publishTags(ref: DetectedRef, o: TagInput): string[] {
  if (ref.kind === 'pull') return [];
  if (ref.kind === 'tag') {
    if (ref.name !== o.version)
      throw new OdpError('CONFLICT', `tag ${ref.name} differs from odoo/VERSION (${o.version || 'empty'})`, {
        hint: 'The image tag is the release version: tag the commit whose odoo/VERSION says it (`odp release bump` does both).',
      });
    return [ref.name];
  }
  if (ref.name === (o.mainBranch ?? DEFAULT_MAIN_BRANCH)) return ['latest'];
  // Always `-<hex sha>` at the end: a branch never yields `latest` or a version.
  return [branchTag(ref.name, o.sha)];
}

/** `docker.io`, `registry.example.com`, `127.0.0.1:5000`: a host and an optional port. */
export function checkRegistry(registry: string): string {
  const m = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:(\d{1,5}))?$/i.exec(
    registry,
  );
  if (!m || (m[6] !== undefined && (Number(m[6]) < 1 || Number(m[6]) > 65535)))
    throw new OdpError('USAGE', `registry "${registry}" is not HOST or HOST:PORT`, {
      hint: 'e.g. --registry ghcr.io or --registry 127.0.0.1:5000 (no scheme, no path).',
    });
  return registry.toLowerCase();
}

// The distribution spec's repository name: lower-case components joined by `/`.
const COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;

/** The image's repository inside the registry, e.g. `camptocamp/acme_odoo`, without host or tag. */
export function checkImageName(image: string): string {
  const parts = image.split('/');
  if (!image || image.length > 255 || !parts.every((p) => COMPONENT.test(p)))
    throw new OdpError('USAGE', `image "${image}" is not a repository name such as camptocamp/acme_odoo`, {
      hint: 'Lower-case letters, digits, `.`, `_` and `-`, in `/`-separated parts; no tag, no registry host.',
    });
  // A first part that looks like a host would be taken by the engine as the registry.
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!))
    throw new OdpError('USAGE', `image "${image}" starts with a registry host`, {
      hint: 'Give the registry with --registry (or ODP_REGISTRY) and the repository alone with --image.',
    });
  return image;
}

/**
 * `org.opencontainers.image.source` from a git remote: an https URL without
 * credentials. CI remotes often embed a token (https://x-access-token:…@host/),
 * which must never end up in a published image.
 */
export function sourceUrl(remote: string | undefined): string | undefined {
  if (!remote) return undefined;
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/)(.+)$/.exec(remote); // git@github.com:org/repo.git
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) return `https://${scp[1]}/${scp[2]}`;
  try {
    const u = new URL(remote);
    if (!['https:', 'http:', 'ssh:', 'git:'].includes(u.protocol)) return undefined;
    if (u.protocol === 'https:' || u.protocol === 'http:') return `${u.protocol}//${u.host}${u.pathname}`;
    // ssh:// and git:// remotes are browsed over https, on the default port, on every source host.
    return `https://${u.hostname}${u.pathname}`;
  } catch {
    return undefined; // a local path: nothing others could fetch
  }
}

export const LABEL_REVISION = 'org.opencontainers.image.revision';
export const LABEL_VERSION = 'org.opencontainers.image.version';
export const LABEL_SOURCE = 'org.opencontainers.image.source';

export function imageLabels(o: { sha: string; version: string; remote?: string }): Record<string, string> {
  const source = sourceUrl(o.remote);
  return {
    [LABEL_REVISION]: o.sha,
    [LABEL_VERSION]: o.version,
    ...(source ? { [LABEL_SOURCE]: source } : {}),
  };
}

export interface RegistryAuth {
  auth?: { username: Secret; password: Secret };
  credentials: 'environment' | 'secrets file' | 'anonymous';
}

/**
 * Registry credentials: ODP_REGISTRY_USER/ODP_REGISTRY_PASSWORD, else
 * REGISTRY_USER/REGISTRY_PASSWORD from the decrypted secrets file, else none
 * (an anonymous push). Never from argv; a half-given pair is an error.
 */
export function registryAuth(
  env: Record<string, string | undefined>,
  file: Map<string, Secret> | undefined,
  fileName: string | undefined,
): RegistryAuth {
  const user = env.ODP_REGISTRY_USER;
  const password = env.ODP_REGISTRY_PASSWORD;
  if (user || password) {
    if (!user || !password)
      throw new OdpError('USAGE', `ODP_REGISTRY_${user ? 'PASSWORD' : 'USER'} is not set, its pair is`, {
        hint: 'Set both ODP_REGISTRY_USER and ODP_REGISTRY_PASSWORD, or neither.',
      });
    return {
      auth: { username: new Secret(user), password: new Secret(password) },
      credentials: 'environment',
    };
  }
  if (!file) return { credentials: 'anonymous' };
  const fu = file.get('REGISTRY_USER');
  const fp = file.get('REGISTRY_PASSWORD');
  if (!fu && !fp) return { credentials: 'anonymous' };
  if (!fu || !fp)
    throw new OdpError(
      'SECRETS_INVALID',
      `${fileName} has ${fu ? 'no REGISTRY_PASSWORD' : 'no REGISTRY_USER'}`,
      {
        hint: 'The secrets file needs both REGISTRY_USER and REGISTRY_PASSWORD, or neither.',
      },
    );
  return { auth: { username: fu, password: fp }, credentials: 'secrets file' };
}

/**
 * `<base>/hooks/publish`. The given URL is never echoed in an error: a
 * malformed one may still hold a user and password.
 */
export function hookUrl(base: string): string {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new OdpError('USAGE', 'the notify URL is not a URL such as https://odp.example.com');
  }
  if (u.username || u.password)
    // Not echoed: it holds credentials. The request is signed instead.
    throw new OdpError('USAGE', 'the notify URL contains credentials; they would end up in logs', {
      hint: 'Give the bare server URL: the request is signed with ODP_WEBHOOK_SECRET.',
    });
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new OdpError('USAGE', `the notify URL is ${u.protocol}, not http: or https:`);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/hooks/publish`;
  u.search = '';
  u.hash = '';
  return u.toString();
}

/** The redeploy request `odp serve` reads at /hooks/publish (src/server/publish-hook.ts). */
export function notifyBody(image: string, project: string, revision: string): string {
  return JSON.stringify({ project, instance: 'test', image, tag: 'latest', revision });
}
