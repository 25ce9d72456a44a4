// The one adapter to git. simple-git drives the real git binary.
import { simpleGit } from 'simple-git';

/** Paths (relative to `dir`) that git tracks below `dir`; empty when `dir` is not in a repository. */
export async function trackedFiles(dir: string): Promise<string[]> {
  const git = simpleGit({ baseDir: dir });
  if (!(await git.checkIsRepo().catch(() => false))) return [];
  const out = await git.raw(['ls-files', '-z', '--', '.']);
  return out.split('\0').filter(Boolean);
}
