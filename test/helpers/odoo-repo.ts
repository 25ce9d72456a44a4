// A sample Odoo project repository: a copy of examples/odoo-project in a fresh
// temp directory, committed on master by a local test identity. Release and
// publish tests work on it; the caller removes `dir`.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleGit, type SimpleGit } from 'simple-git';

const example = fileURLToPath(new URL('../../examples/odoo-project/', import.meta.url));

export async function makeOdooRepo(o: { version?: string } = {}): Promise<{ dir: string; git: SimpleGit }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'odp-odoo-repo-'));
  cpSync(example, dir, { recursive: true });
  if (o.version !== undefined) writeFileSync(path.join(dir, 'odoo/VERSION'), `${o.version}\n`);
  const git = simpleGit({ baseDir: dir });
  await git.init(['-b', 'master']);
  await git.addConfig('user.name', 'odp tests');
  await git.addConfig('user.email', 'odp-tests@example.invalid');
  // A signing setup in the user's global config must not reach the test repository.
  await git.addConfig('commit.gpgsign', 'false');
  await git.addConfig('tag.gpgsign', 'false');
  await git.add('.');
  await git.commit('Initial commit');
  return { dir, git };
}
