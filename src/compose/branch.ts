// A branch's ephemeral test instance: every name it needs, derived from the
// branch name by rule (docs/decisions/0020). Pure: `odp publish` tags a
// branch's image with the same slug, so both sides agree without talking.
import { createHash } from 'node:crypto';
import { OdpError } from '../errors.js';
import type { ProjectSpec } from '../platform-spec/project-schema.js';

/** Longest slug: a DNS label (63) and the image tag `<slug>-<sha>` (128) keep room. */
export const BRANCH_SLUG_MAX = 40;
/** Unit names `<stack>-nginx-1` are container hostnames and edge DNS names: at most 63. */
const STACK_MAX = 55;
const HASH_LEN = 6;

const shortHash = (s: string, n = HASH_LEN): string =>
  createHash('sha256').update(s).digest('hex').slice(0, n);

/**
 * `feature/Login-Page` → `feature-login-page-3fa2c1`. A name that is already a
 * slug (lower-case letters, digits, single inner dashes, ≤ 40) is its own slug;
 * any other gets a hash of the whole name appended, so two names that clean up
 * alike (`Feature/x`, `feature-x`) or share a truncated start never collide.
 */
export function branchSlug(name: string): string {
  if (!name.trim()) throw new OdpError('USAGE', 'a branch name cannot be empty');
  if (name.length <= BRANCH_SLUG_MAX && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) return name;
  const clean = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // é → e: accents dropped, the letter kept
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const room = BRANCH_SLUG_MAX - HASH_LEN - 1;
  const head = clean.slice(0, room).replace(/-+$/, '');
  return head ? `${head}-${shortHash(name)}` : shortHash(name);
}

/** The image tag `odp publish` pushes for a branch build: `<slug>-<short sha>`. */
export function branchTag(branch: string, sha: string): string {
  if (!/^[0-9a-f]{7,40}$/.test(sha)) throw new OdpError('USAGE', `not a commit sha: ${sha}`);
  return `${branchSlug(branch)}-${sha.slice(0, 7)}`;
}

/** Whether `tag` is one `odp publish` pushed for the branch with this slug. */
export function isBranchTag(slug: string, tag: string): boolean {
  return tag.startsWith(`${slug}-`) && /^[0-9a-f]{7,40}$/.test(tag.slice(slug.length + 1));
}

/** The `odp.instance` label of a branch's units: never `test`, so the test instance's plan ignores them. */
export function branchInstanceLabel(slug: string): string {
  return `test@${slug}`;
}

/** Everything that differs between a branch's instance and the project's test instance. */
export interface BranchTarget {
  branch: string;
  slug: string;
  /** `<project>-odoo-test-<slug>`, shortened with a hash past 55 characters. */
  stackName: string;
  /** `<slug>.<test instance domain>`. */
  domain: string;
  database: string;
  /** The stack name: `<client>-odoo-<env>` as cloud_platform wants it. */
  redisPrefix: string;
  /** `test@<slug>`. */
  instanceLabel: string;
}

export function branchTarget(project: ProjectSpec, branch: string): BranchTarget {
  const test = project.instances.test;
  if (!test) {
    throw new OdpError('NOT_FOUND', `project ${project.name} declares no test instance`, {
      hint: 'A branch instance is made like the test instance: declare instances.test first.',
    });
  }
  const slug = branchSlug(branch);
  const domain = `${slug}.${test.domain}`;
  if (domain.length > 253) {
    throw new OdpError('USAGE', `the domain of branch ${branch} would be longer than 253 characters`, {
      hint: 'Use a shorter test domain.',
    });
  }
  const stackName = fit(`${project.name}-odoo-test-${slug}`, STACK_MAX, '-');
  return {
    branch,
    slug,
    stackName,
    domain,
    database: fit(`${test.database}_${slug.replace(/-/g, '_')}`, 63, '_'),
    redisPrefix: stackName,
    instanceLabel: branchInstanceLabel(slug),
  };
}

/** `name` if it fits, else its start and a hash of the whole: still unique, never too long. */
function fit(name: string, max: number, sep: string): string {
  if (name.length <= max) return name;
  const head = name.slice(0, max - HASH_LEN - 1).replace(/[-_]+$/, '');
  return `${head}${sep}${shortHash(name)}`;
}
