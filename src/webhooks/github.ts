// GitHub webhook deliveries, read into what the platform acts on. Pure: the
// event name and the raw body in, a typed event (or why it is ignored or
// refused) out. Anything can arrive on a public endpoint, so nothing here
// throws: every shape GitHub does not send is a reason, never an exception.
import * as z from 'zod';
import { PINNED_VERSION } from '../versions.js';

/** A repository is its host and its full name: `ghe.example.com/acme/x` is not `github.com/acme/x`. */
export interface RepoRef {
  /** `github.com`, or a GitHub Enterprise server's host; lower case. */
  host: string;
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
/** A commit id: SHA-1, or SHA-256 for repositories in that object format. */
const SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;

const repository = z.object({
  full_name: z.string().min(3).max(300),
  html_url: z.string().max(500),
  clone_url: z.string().max(500).optional(),
  url: z.string().max(500).optional(),
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
  if (typeof repo === 'string') return invalid(`push payload: ${repo}`);
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
    if (!PINNED_VERSION.test(tag))
      return { outcome: 'ignored', reason: `tag ${tag} is not a release version` };
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
  if (!PINNED_VERSION.test(p.ref))
    return { outcome: 'ignored', reason: `tag ${p.ref} is not a release version` };
  const repo = repoRef(p.repository);
  if (typeof repo === 'string') return invalid(`create payload: ${repo}`);
  return { outcome: 'event', event: { kind: 'version-tag', repo, version: p.ref } };
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

export interface RepositoryMatch {
  /** The projects whose `repository:` is this host and full name. */
  projects: string[];
  /** When none: why, naming the projects with the same full name on another host. */
  reason?: string;
}

/**
 * The projects whose spec names this repository: `repository: host/owner/name`
 * with the delivery's host (from its URLs) and its full name, both compared
 * without case. The same owner/name on another host (a GitHub Enterprise
 * server, a fork host) is another repository and matches nothing.
 */
export function matchRepository(
  projects: readonly { name: string; repository?: string | undefined }[],
  repo: RepoRef,
): RepositoryMatch {
  const wanted = `${repo.host}/${repo.fullName.toLowerCase()}`;
  const specs = projects.flatMap((p) =>
    p.repository ? [{ name: p.name, spec: normalizeRepository(p.repository) }] : [],
  );
  const hits = specs.filter((p) => p.spec === wanted).map((p) => p.name);
  if (hits.length) return { projects: hits };
  const path = repo.fullName.toLowerCase();
  const elsewhere = specs.filter((p) => p.spec.slice(p.spec.indexOf('/') + 1) === path);
  const note = elsewhere.length
    ? ` (${elsewhere.map((p) => `${p.spec} is ${p.name}'s`).join(', ')}: another host is another repository)`
    : '';
  return { projects: [], reason: `repository ${wanted} matches no project${note}` };
}

/** The names of the projects of `repo` (see matchRepository). */
export function projectsForRepository(
  projects: readonly { name: string; repository?: string | undefined }[],
  repo: RepoRef,
): string[] {
  return matchRepository(projects, repo).projects;
}

/**
 * The host a delivery's repository lives on: its html_url, else clone_url,
 * else url (on github.com a non-push event's url is the API's,
 * `api.github.com/repos/…`; on an Enterprise server `host/api/v3/repos/…`).
 */
export function repositoryHost(r: {
  html_url: string;
  clone_url?: string | undefined;
  url?: string | undefined;
}): string | undefined {
  for (const [u, api] of [
    [r.html_url, false],
    [r.clone_url, false],
    [r.url, true],
  ] as const) {
    const host = httpHost(u);
    if (!host) continue;
    return api && host === 'api.github.com' ? 'github.com' : host;
  }
  return undefined;
}

function httpHost(u: string | undefined): string | undefined {
  if (!u) return undefined;
  try {
    const url = new URL(u);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    // The port is not part of a repository's name in a spec (`host/owner/name`).
    return url.hostname.toLowerCase() || undefined;
  } catch {
    return undefined;
  }
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

/** The delivery's repository, or why it names none (no URL with a host). */
function repoRef(r: z.output<typeof repository>): RepoRef | string {
  const host = repositoryHost(r);
  if (!host) return 'repository: no html_url, clone_url or url names its host';
  return { host, fullName: r.full_name, htmlUrl: r.html_url };
}

function firstIssue(e: z.ZodError): string {
  const i = e.issues[0];
  if (!i) return 'invalid';
  return `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`;
}

function invalid(reason: string): GithubParse {
  return { outcome: 'invalid', reason };
}
