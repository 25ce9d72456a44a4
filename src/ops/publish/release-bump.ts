// `odp release bump`: the release step of camptocamp's `invoke release.bump`
// done whole. It reads odoo/VERSION, computes the next version, moves the
// unreleased HISTORY.rst entries under it, lists it in odoo/migration.yml,
// then commits and tags — where the invoke task printed the commit and tag
// commands for a person to type. Every refusal is checked before the first
// write, so a refused bump changes nothing; a dry run runs the same checks.
import { existsSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { isOdpError, OdpError } from '../../errors.js';
import { releaseHistory } from '../../release/history-rst.js';
import { appendMigrationVersion } from '../../release/migration-file.js';
import { nextVersion, type BumpKind } from '../../release/version.js';

export const VERSION_FILE = 'odoo/VERSION';
export const HISTORY_FILE = 'HISTORY.rst';
export const MIGRATION_FILE = 'odoo/migration.yml';

export interface PlannedFile {
  /** Relative to the repository root, with forward slashes. */
  path: string;
  /** What changes, for a person. */
  summary: string;
  /** Lines added and removed (a contiguous-block diff: exact, not always minimal). */
  added: number;
  removed: number;
  before: string;
  after: string;
}

export interface BumpPlan {
  repo: string;
  branch: string;
  kind: BumpKind;
  from: string;
  to: string;
  date: string;
  tag: string;
  message: string;
  files: PlannedFile[];
  /** Things a person should know: a file skipped, an empty release. */
  notes: string[];
}

export interface BumpResult extends BumpPlan {
  /** The release commit's full hash. */
  commit: string;
}

/** Today in the local time zone, as HISTORY.rst dates its releases. */
export function today(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

// `user.useConfigOnly`: git must not make up an identity from the host name
// for a commit and a tag that are published.
function gitAt(dir: string): SimpleGit {
  return simpleGit({ baseDir: dir, config: ['user.useConfigOnly=true'] });
}

async function quiet(git: SimpleGit, args: string[]): Promise<string | undefined> {
  try {
    return (await git.raw(args)).trim();
  } catch {
    return undefined;
  }
}

async function repoRoot(dir: string): Promise<string> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new OdpError('NOT_FOUND', `no directory ${dir}`);
  }
  const top = await quiet(gitAt(dir), ['rev-parse', '--show-toplevel']);
  if (!top) {
    throw new OdpError('NOT_FOUND', `${path.resolve(dir)} is not inside a git repository`, {
      hint: "Run `odp release bump` inside the Odoo project's repository, or pass --repo DIR.",
    });
  }
  return top;
}

/** Refuses a detached HEAD, a branch without commits, a dirty tree and a missing git identity. */
async function checkRepository(git: SimpleGit, repo: string): Promise<string> {
  const branch = await quiet(git, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  if (!branch) {
    const at = await quiet(git, ['rev-parse', '--short', 'HEAD']);
    throw new OdpError(
      'CONFLICT',
      `HEAD is detached${at ? ` at ${at}` : ''} in ${repo}: a release is made on a branch`,
      {
        hint: 'Check out the branch to release first, e.g. `git switch master`.',
      },
    );
  }
  if (!(await quiet(git, ['rev-parse', '--quiet', '--verify', 'HEAD^{commit}']))) {
    throw new OdpError('USAGE', `branch ${branch} of ${repo} has no commit yet`);
  }
  const status = (await git.raw(['status', '--porcelain=v1', '--untracked-files=normal']))
    .split('\n')
    .filter(Boolean);
  if (status.length > 0) {
    const shown =
      status.slice(0, 10).join('\n') + (status.length > 10 ? `\n… and ${status.length - 10} more` : '');
    throw new OdpError(
      'CONFLICT',
      `the working tree of ${repo} is not clean (${status.length} path(s)): nothing changed`,
      {
        detail: shown,
        hint: 'A release commits exactly what is released: commit, stash or remove these changes first.',
      },
    );
  }
  for (const who of ['GIT_AUTHOR_IDENT', 'GIT_COMMITTER_IDENT']) {
    if (!(await quiet(git, ['var', who]))) {
      throw new OdpError(
        'USAGE',
        `git does not know who you are in ${repo} (user.name / user.email are not set)`,
        {
          hint: 'Set them, for this repository or --global: git config user.name "Your Name" && git config user.email you@example.com',
        },
      );
    }
  }
  return branch;
}

async function readOptional(file: string): Promise<string | undefined> {
  return existsSync(file) ? readFile(file, 'utf8') : undefined;
}

/** Lines added and removed once the common first and last lines are set aside. */
function lineChanges(before: string, after: string): { added: number; removed: number } {
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  return { added: b.length - head - tail, removed: a.length - head - tail };
}

function planned(file: string, summary: string, before: string, after: string): PlannedFile {
  return { path: file, summary, ...lineChanges(before, after), before, after };
}

/** Everything the bump would do, after every check; writes nothing. */
export async function planBump(o: { dir: string; kind: BumpKind; date?: string }): Promise<BumpPlan> {
  const repo = await repoRoot(o.dir);
  const git = gitAt(repo);
  const branch = await checkRepository(git, repo);

  const versionText = await readOptional(path.join(repo, VERSION_FILE));
  if (versionText === undefined) {
    throw new OdpError('NOT_FOUND', `no ${VERSION_FILE} in ${repo}`, {
      hint: "odp release bump works on an Odoo project's repository (camptocamp's odoo-template layout), whose odoo/VERSION holds the current version.",
    });
  }
  const to = nextVersion(versionText, o.kind, VERSION_FILE);
  const from = versionText.trim();
  const tagAt = await quiet(git, ['rev-parse', '--quiet', '--verify', `refs/tags/${to}^{commit}`]);
  if (tagAt) {
    throw new OdpError(
      'ALREADY_EXISTS',
      `tag ${to} already exists in ${repo} (on commit ${tagAt.slice(0, 7)}): nothing changed`,
      {
        hint: `${VERSION_FILE} says ${from}; if ${to} was released already, set ${VERSION_FILE} to the last release first.`,
      },
    );
  }

  const date = o.date ?? today();
  const files: PlannedFile[] = [planned(VERSION_FILE, `${from} → ${to}`, versionText, `${to}\n`)];
  const notes: string[] = [];

  const historyText = await readOptional(path.join(repo, HISTORY_FILE));
  if (historyText === undefined) {
    notes.push(`no ${HISTORY_FILE} in the repository: no release notes were written`);
  } else {
    const h = releaseHistory(historyText, { version: to, date, file: HISTORY_FILE });
    const summary = h.empty
      ? `no unreleased entries: ${to} (${date}) says "No changes recorded."`
      : `${h.entries} entr${h.entries === 1 ? 'y' : 'ies'}${h.sections.some(Boolean) ? ` (${h.sections.filter(Boolean).join(', ')})` : ''} moved under ${to} (${date})`;
    if (h.empty)
      notes.push(`${HISTORY_FILE} had no unreleased entries: ${to} is recorded with "No changes recorded."`);
    files.push(planned(HISTORY_FILE, summary, historyText, h.text));
  }

  const migrationText = await readOptional(path.join(repo, MIGRATION_FILE));
  if (migrationText === undefined) {
    notes.push(`no ${MIGRATION_FILE} in the repository: no migration version was added`);
  } else {
    const m = appendMigrationVersion(migrationText, to, MIGRATION_FILE);
    if (m.added) files.push(planned(MIGRATION_FILE, `+ version ${to}`, migrationText, m.text));
    else notes.push(`${MIGRATION_FILE} already lists ${to}`);
  }

  const message = `Release ${to}`;
  return { repo, branch, kind: o.kind, from, to, date, tag: to, message, files, notes };
}

/** Writes the planned files, commits them and tags the commit; a failed commit restores the files. */
export async function applyBump(plan: BumpPlan): Promise<BumpResult> {
  const git = gitAt(plan.repo);
  const paths = plan.files.map((f) => f.path);
  try {
    for (const f of plan.files) await writeFile(path.join(plan.repo, f.path), f.after);
    await git.add(paths);
    await git.commit(plan.message, paths);
  } catch (e) {
    // A pre-commit hook may refuse (or rewrite) the files: put back what was committed.
    await quiet(git, ['reset', '--quiet', '--', ...paths]);
    for (const f of plan.files) await writeFile(path.join(plan.repo, f.path), f.before);
    throw isOdpError(e)
      ? e
      : new OdpError('INTERNAL', `git commit failed in ${plan.repo}: nothing changed`, {
          detail: e instanceof Error ? e.message.trim() : String(e),
          hint: 'A pre-commit hook may have refused the release commit; fix what it reports and bump again.',
        });
  }
  const commit = (await git.revparse(['HEAD'])).trim();
  try {
    await git.addAnnotatedTag(plan.tag, plan.message);
  } catch (e) {
    throw new OdpError(
      'INTERNAL',
      `committed ${commit.slice(0, 7)} "${plan.message}" but could not create tag ${plan.tag}`,
      {
        detail: e instanceof Error ? e.message.trim() : String(e),
        hint: `Create it by hand: git tag -a ${plan.tag} -m "${plan.message}"`,
      },
    );
  }
  return { ...plan, commit };
}
