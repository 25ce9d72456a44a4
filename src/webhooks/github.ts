// GitHub webhook deliveries, read into what the platform acts on. Pure: the
// event name and the raw body in, a typed event (or why it is ignored or
// refused) out. Anything can arrive on a public endpoint, so nothing here
// throws: every shape GitHub does not send is a reason, never an exception.
import { z } from 'zod';

export interface RepoRef {
  /** `owner/name` */
  fullName: string;
  /** `https://github.com/owner/name` */
  htmlUrl: string;
}

export type GithubEvent =
  | { kind: 'ping' }
  | { kind: 'branch-push'; repo: RepoRef; branch: string; sha: string }
  | { kind: 'branch-deleted'; repo: RepoRef; branch: string }
  /** A release tag: the version becomes deployable (a `create` event carries no sha). */
  | { kind: 'version-tag'; repo: RepoRef; version: string; sha?: string };

export type GithubParse =
  | { outcome: 'event'; event: GithubEvent }
  /** Well-formed, but nothing for the platform to do (202). */
  | { outcome: 'ignored'; reason: string }
  /** Not what GitHub sends (400). */
  | { outcome: 'invalid'; reason: string };

/** Marabunta's version shapes, as the spec's `version` field: x.y.z or series.x.y.z. */
const VERSION = /^\d+\.\d+\.\d+(\.\d+\.\d+)?$/;
/** A commit id: SHA-1, or SHA-256 for repositories in that object format. */
const SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;

const repository = z.object({
  full_name: z.string().min(3).max(300),
  html_url: z.string().max(500),
});
const pushPayload = z.object({
  ref: z.string().min(1).max(1000),
  after: z.string().regex(SHA, 'expected a commit id'),
  deleted: z.boolean().optional(),
  head_commit: z.object({ id: z.string().regex(SHA, 'expected a commit id') }).nullish(),
  repository,
});
const createPayload = z.object({
  ref: z.string().min(1).max(1000),
  ref_type: z.enum(['branch', 'tag']),
  repository,
});

export function parseGithubDelivery(eventName: unknown, body: string | Buffer): GithubParse {
  if (typeof eventName !== 'string' || !EVENT_NAME.test(eventName)) {
    return invalid('missing or malformed X-GitHub-Event header');
  }
  let data: unknown;
  try {
    data = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return invalid('the body is not JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return invalid('the body is not a JSON object');
  }
  switch (eventName) {
    case 'ping':
      return { outcome: 'event', event: { kind: 'ping' } };
    case 'push':
      return readPush(data);
    case 'create':
      return readCreate(data);
    default:
      return { outcome: 'ignored', reason: `event ${eventName} is not used` };
  }
}

function readPush(data: unknown): GithubParse {
  const r = pushPayload.safeParse(data);
  if (!r.success) return invalid(`push payload: ${firstIssue(r.error)}`);
  const p = r.data;
  const repo = repoRef(p.repository);
  if (p.ref.startsWith('refs/heads/')) {
    const branch = p.ref.slice('refs/heads/'.length);
    const bad = badRefName(branch);
    if (bad) return invalid(`push payload: ref: ${bad}`);
    if (p.deleted) return { outcome: 'event', event: { kind: 'branch-deleted', repo, branch } };
    if (/^0+$/.test(p.after))
      return invalid('push payload: after: a zero commit id on a push that deletes nothing');
    return { outcome: 'event', event: { kind: 'branch-push', repo, branch, sha: p.after } };
  }
  if (p.ref.startsWith('refs/tags/')) {
    const tag = p.ref.slice('refs/tags/'.length);
    if (p.deleted)
      return { outcome: 'ignored', reason: `tag ${tag} deleted: a released version stays recorded` };
    if (!VERSION.test(tag)) return { outcome: 'ignored', reason: `tag ${tag} is not a release version` };
    // An annotated tag's `after` is the tag object; the commit is head_commit.
    const sha = p.head_commit?.id ?? p.after;
    return { outcome: 'event', event: { kind: 'version-tag', repo, version: tag, sha } };
  }
  return { outcome: 'ignored', reason: `ref ${p.ref} is neither a branch nor a tag` };
}

function readCreate(data: unknown): GithubParse {
  const r = createPayload.safeParse(data);
  if (!r.success) return invalid(`create payload: ${firstIssue(r.error)}`);
  const p = r.data;
  // A new branch also arrives as a push, which carries its commit: that one deploys it.
  if (p.ref_type === 'branch') return { outcome: 'ignored', reason: 'a new branch is handled by its push' };
  if (!VERSION.test(p.ref)) return { outcome: 'ignored', reason: `tag ${p.ref} is not a release version` };
  return { outcome: 'event', event: { kind: 'version-tag', repo: repoRef(p.repository), version: p.ref } };
}

/**
 * Why `name` is not a branch name git accepts (git check-ref-format's rules),
 * or undefined. Branch names end up in instance keys and domains: only names
 * git itself could have made get that far.
 */
export function badRefName(name: string): string | undefined {
  if (name.length === 0 || name.length > 255) return 'expected a branch name of 1 to 255 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name))
    return 'a branch name has no spaces, control characters or ~^:?*[\\';
  if (name.includes('..') || name.includes('@{') || name.includes('//'))
    return 'a branch name has no "..", "@{" or "//"';
  if (/^[-/.]|[/.]$|\.lock$|\/\./.test(name)) return 'not a branch name git accepts';
  return undefined;
}

/**
 * The projects whose spec names this repository (`repository: github.com/owner/name`):
 * the delivery's html_url on the same host and path, or its full_name as the path.
 */
export function projectsForRepository(
  projects: readonly { name: string; repository?: string | undefined }[],
  repo: RepoRef,
): string[] {
  const url = normalizeRepository(repo.htmlUrl);
  const fullName = repo.fullName.toLowerCase();
  return projects
    .filter((p) => {
      if (!p.repository) return false;
      const spec = normalizeRepository(p.repository);
      return spec === url || spec.slice(spec.indexOf('/') + 1) === fullName;
    })
    .map((p) => p.name);
}

/** `https://GitHub.com/Acme/X.git/` → `github.com/acme/x`: the forms a repository is written in. */
export function normalizeRepository(s: string): string {
  return s
    .trim()
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/^[^@/]+@/, '')
    .replace(/^([^/:]+):(?!\d)/, '$1/')
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}

function repoRef(r: z.output<typeof repository>): RepoRef {
  return { fullName: r.full_name, htmlUrl: r.html_url };
}

function firstIssue(e: z.ZodError): string {
  const i = e.issues[0];
  if (!i) return 'invalid';
  return `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`;
}

function invalid(reason: string): GithubParse {
  return { outcome: 'invalid', reason };
}
