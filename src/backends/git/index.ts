// What `odp check` asks git: the git binary itself, run once for the whole
// directory however many projects it holds (simple-git, which publish and
// release use, costs more to load than this one call takes).
import { execFile } from 'node:child_process';

/** Paths (relative to `dir`) that git tracks below `dir`; empty when `dir` is not in a repository. */
export function trackedFiles(dir: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['ls-files', '-z', '--', '.'],
      { cwd: dir, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout.split('\0').filter(Boolean));
        // No git, or not a repository: nothing is tracked.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || /not a git repository/i.test(stderr)) {
          return resolve([]);
        }
        reject(error);
      },
    );
  });
}
