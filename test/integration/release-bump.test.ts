// `odp release bump` end to end: the real CLI in its own process on a real git
// repository made from examples/odoo-project, checked with git itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { today } from '../../src/ops/publish/release-bump.js';
import { makeOdooRepo } from '../helpers/odoo-repo.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
// tsx by its URL: `--import tsx` resolves from the working directory, here a temp repository.
const TSX = import.meta.resolve('tsx');
const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function repo(version?: string) {
  const r = await makeOdooRepo({ version });
  made.push(r.dir);
  return r;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `odp ARGS` as a separate process, run from `cwd` (the repository by default, as a person would). */
function odp(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, path.join(REPO, 'src/cli/run.ts'), ...args], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const FILES = ['odoo/VERSION', 'HISTORY.rst', 'odoo/migration.yml'];
const read = (dir: string, f: string) => readFileSync(path.join(dir, f), 'utf8');

/** Everything a refused bump must leave as it was. */
async function snapshot(dir: string, git: Awaited<ReturnType<typeof repo>>['git']) {
  return {
    head: (await git.revparse(['HEAD'])).trim(),
    branch: (await git.raw(['symbolic-ref', '-q', 'HEAD']).catch(() => '')).trim(),
    tags: (await git.raw(['tag', '-l'])).trim(),
    status: await git.raw(['status', '--porcelain']),
    files: FILES.map((f) => (existsSync(path.join(dir, f)) ? read(dir, f) : null)),
  };
}

/** A date in the range of a run: the run may cross midnight. */
async function dated<T>(body: () => Promise<T>): Promise<{ result: T; dates: string[] }> {
  const before = today();
  const result = await body();
  return { result, dates: [...new Set([before, today()])] };
}

describe('odp release bump', () => {
  test('--feature then --patch: versions, files, commits and annotated tags', async () => {
    const { dir, git } = await repo();
    const initial = await snapshot(dir, git);
    const history0 = read(dir, 'HISTORY.rst');
    const migration0 = read(dir, 'odoo/migration.yml');

    // Run from a sub-directory: the repository root is found with git.
    const { result: feature, dates } = await dated(() =>
      odp(['release', 'bump', '--feature'], path.join(dir, 'odoo')),
    );
    assert.equal(feature.code, 0, feature.stderr);
    assert.match(feature.stdout, /^released 10\.1\.0 \(was 10\.0\.0\) on master/m);
    assert.match(feature.stdout, /HISTORY\.rst\s+1 entry \(Features and Improvements\) moved under 10\.1\.0/);
    assert.match(feature.stdout, /annotated tag 10\.1\.0\nnext: git push --follow-tags\n$/);
    assert.equal(read(dir, 'odoo/VERSION'), '10.1.0\n');
    assert.equal(read(dir, 'odoo/migration.yml'), `${migration0}    - version: 10.1.0\n`);
    const history1 = read(dir, 'HISTORY.rst');
    const date1 = dates.find((d) => history1.includes(`10.1.0 (${d})`));
    assert.ok(date1, history1);
    const unreleased = history0.indexOf('latest (unreleased)');
    const released = history0.indexOf('10.0.0 (2024-01-15)');
    assert.equal(
      history1,
      history0.slice(0, unreleased) +
        'latest (unreleased)\n+++++++++++++++++++\n\n' +
        '**Features and Improvements**\n\n**Bugfixes**\n\n**Build**\n\n**Documentation**\n\n\n' +
        `10.1.0 (${date1})\n+++++++++++++++++++\n\n` +
        '**Features and Improvements**\n\n* Sample data: 25 partners in demo mode, 500 in full mode\n\n\n' +
        history0.slice(released),
    );

    // One commit with exactly the three files, tagged with an annotated tag.
    assert.equal((await git.raw(['rev-parse', 'HEAD~1'])).trim(), initial.head);
    assert.equal((await git.raw(['log', '-1', '--format=%s'])).trim(), 'Release 10.1.0');
    assert.deepEqual(
      (await git.raw(['show', '--name-only', '--format=', 'HEAD'])).trim().split('\n').sort(),
      ['HISTORY.rst', 'odoo/VERSION', 'odoo/migration.yml'],
    );
    assert.equal((await git.raw(['cat-file', '-t', '10.1.0'])).trim(), 'tag');
    assert.equal((await git.raw(['tag', '-l', '--format=%(contents)', '10.1.0'])).trim(), 'Release 10.1.0');
    assert.equal(
      (await git.raw(['rev-parse', '10.1.0^{commit}'])).trim(),
      (await git.revparse(['HEAD'])).trim(),
    );
    assert.equal(await git.raw(['status', '--porcelain']), '');

    // The patch release right after: nothing unreleased, which it says.
    const { result: patch, dates: dates2 } = await dated(() =>
      odp(['release', 'bump', '--patch', '--repo', dir], REPO),
    );
    assert.equal(patch.code, 0, patch.stderr);
    assert.match(patch.stderr, /note: HISTORY\.rst had no unreleased entries/);
    assert.equal(read(dir, 'odoo/VERSION'), '10.1.1\n');
    assert.equal(
      read(dir, 'odoo/migration.yml'),
      `${migration0}    - version: 10.1.0\n    - version: 10.1.1\n`,
    );
    const history2 = read(dir, 'HISTORY.rst');
    const date2 = dates2.find((d) => history2.includes(`10.1.1 (${d})`));
    assert.ok(date2, history2);
    assert.ok(
      history2.includes(
        `10.1.1 (${date2})\n+++++++++++++++++++\n\nNo changes recorded.\n\n\n10.1.0 (${date1})\n`,
      ),
    );
    assert.ok(history2.endsWith(history1.slice(history1.indexOf(`10.1.0 (${date1})`))));
    assert.deepEqual((await git.raw(['log', '--format=%s'])).trim().split('\n'), [
      'Release 10.1.1',
      'Release 10.1.0',
      'Initial commit',
    ]);
    assert.equal((await git.raw(['cat-file', '-t', '10.1.1'])).trim(), 'tag');
    assert.equal((await git.raw(['tag', '-l', '--format=%(contents)', '10.1.1'])).trim(), 'Release 10.1.1');
    assert.equal((await git.raw(['tag', '-l'])).trim(), '10.1.0\n10.1.1');
  });

  test('five-part versions keep their series; --json prints the result', async () => {
    const { dir, git } = await repo('14.0.1.2.0');
    const feature = await odp(['release', 'bump', '--feature', '--json'], dir);
    assert.equal(feature.code, 0, feature.stderr);
    const r = JSON.parse(feature.stdout) as Record<string, unknown>;
    assert.equal(r.from, '14.0.1.2.0');
    assert.equal(r.to, '14.0.1.3.0');
    assert.equal(r.tag, '14.0.1.3.0');
    assert.equal(r.dryRun, false);
    assert.equal(r.commit, (await git.revparse(['HEAD'])).trim());
    assert.deepEqual(
      (r.files as { path: string }[]).map((f) => f.path),
      ['odoo/VERSION', 'HISTORY.rst', 'odoo/migration.yml'],
    );
    const major = await odp(['release', 'bump', '--major'], dir);
    assert.equal(major.code, 0, major.stderr);
    assert.equal(read(dir, 'odoo/VERSION'), '14.0.2.0.0\n');
    assert.match(
      read(dir, 'odoo/migration.yml'),
      /- version: 14\.0\.1\.3\.0\n {4}- version: 14\.0\.2\.0\.0\n$/,
    );
    assert.equal((await git.raw(['cat-file', '-t', '14.0.2.0.0'])).trim(), 'tag');
  });

  test('--dry-run prints the plan and changes nothing', async () => {
    const { dir, git } = await repo();
    const before = await snapshot(dir, git);
    const run = await odp(['release', 'bump', '--feature', '--dry-run'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^release 10\.0\.0 → 10\.1\.0 \(--feature\) on master/);
    assert.match(run.stdout, /odoo\/VERSION\s+10\.0\.0 → 10\.1\.0 {2}\(\+1 -1 lines\)/);
    assert.match(run.stdout, /odoo\/migration\.yml\s+\+ version 10\.1\.0 {2}\(\+1 -0 lines\)/);
    assert.match(run.stdout, /would commit "Release 10\.1\.0" and create the annotated tag 10\.1\.0/);
    assert.deepEqual(await snapshot(dir, git), before);
    const json = await odp(['release', 'bump', '--major', '--dry-run', '--json'], dir);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(
      (({ dryRun, from, to, commit }) => ({ dryRun, from, to, commit }))(JSON.parse(json.stdout)),
      { dryRun: true, from: '10.0.0', to: '11.0.0', commit: undefined },
    );
    assert.deepEqual(await snapshot(dir, git), before);
  });

  test('a dirty tree is refused and nothing changes; ignored files do not count', async () => {
    const { dir, git } = await repo();
    writeFileSync(path.join(dir, '.gitignore'), '*.log\n');
    await git.add('.gitignore');
    await git.commit('Ignore logs');
    const dirty: [string, () => Promise<void>, () => Promise<void>][] = [
      [
        'modified',
        async () => writeFileSync(path.join(dir, 'README.md'), 'changed\n'),
        async () => void (await git.raw(['checkout', '--', 'README.md'])),
      ],
      [
        'staged',
        async () => {
          writeFileSync(path.join(dir, 'new.txt'), 'new\n');
          await git.add('new.txt');
        },
        async () => {
          await git.raw(['rm', '--cached', '-q', 'new.txt']);
          unlinkSync(path.join(dir, 'new.txt'));
        },
      ],
      [
        'untracked',
        async () => writeFileSync(path.join(dir, 'odoo', 'notes.txt'), 'x\n'),
        async () => unlinkSync(path.join(dir, 'odoo', 'notes.txt')),
      ],
    ];
    for (const [what, make, undo] of dirty) {
      await make();
      const before = await snapshot(dir, git);
      const run = await odp(['release', 'bump', '--feature'], dir);
      assert.equal(run.code, 8, `${what}: ${run.stderr}`);
      assert.match(
        run.stderr,
        /error: the working tree of .* is not clean \(1 path\(s\)\): nothing changed/,
        what,
      );
      assert.match(run.stderr, /hint: A release commits exactly what is released/);
      assert.deepEqual(await snapshot(dir, git), before, what);
      assert.equal(before.tags, '', what);
      await undo();
    }
    writeFileSync(path.join(dir, 'odoo.log'), 'ignored\n');
    const run = await odp(['release', 'bump', '--feature'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await git.raw(['cat-file', '-t', '10.1.0'])).trim(), 'tag');
  });

  test('an existing tag, a detached HEAD, missing files and a refusing hook change nothing', async () => {
    const { dir, git } = await repo();
    const refused = async (args: string[], code: number, message: RegExp, env?: NodeJS.ProcessEnv) => {
      const before = await snapshot(dir, git);
      const run = await odp(['release', 'bump', ...args], dir, env);
      assert.equal(run.code, code, run.stderr);
      assert.match(run.stderr, message);
      assert.deepEqual(await snapshot(dir, git), before);
    };

    await git.raw(['tag', '-a', '10.1.0', '-m', 'Released elsewhere']);
    await refused(['--feature'], 8, /error: tag 10\.1\.0 already exists .*: nothing changed/);
    await refused(['--feature', '--dry-run'], 8, /tag 10\.1\.0 already exists/);
    await git.raw(['tag', '-d', '10.1.0']);

    await git.raw(['checkout', '-q', '--detach']);
    await refused(['--patch'], 8, /error: HEAD is detached at [0-9a-f]+ in .*\nhint: Check out the branch/);
    await git.raw(['checkout', '-q', 'master']);

    await refused([], 2, /error: say which part to bump/);
    await refused(['--feature', '--patch'], 2, /error: choose one of --feature, --patch/);

    writeFileSync(
      path.join(dir, 'HISTORY.rst'),
      'Release History\n===============\n\n1.0.0 (2020-01-01)\n++++++++++++++++++\n',
    );
    await git.commit('No unreleased section', ['HISTORY.rst']);
    await refused(['--patch'], 2, /error: HISTORY\.rst has no "latest \(unreleased\)" section/);
    await git.raw(['reset', '-q', '--hard', 'HEAD~1']);

    writeFileSync(path.join(dir, 'odoo/VERSION'), '10.0\n');
    await git.commit('Bad version', ['odoo/VERSION']);
    await refused(['--patch'], 2, /error: odoo\/VERSION holds "10\.0\\n", not a release version/);
    await git.raw(['rm', '-q', 'odoo/VERSION']);
    await git.commit('No version');
    await refused(['--patch'], 7, /error: no odoo\/VERSION in /);
    await git.raw(['reset', '-q', '--hard', 'HEAD~2']);

    // A pre-commit hook that refuses: the files are put back, no commit, no tag.
    const hook = path.join(dir, '.git/hooks/pre-commit');
    writeFileSync(hook, '#!/bin/sh\necho "lint failed" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    await refused(['--feature'], 1, /error: git commit failed in .*: nothing changed\n(.|\n)*lint failed/);
    unlinkSync(hook);

    const outside = mkdtempSync(path.join(tmpdir(), 'odp-not-a-repo-'));
    made.push(outside);
    const run = await odp(['release', 'bump', '--patch', '--repo', outside], REPO);
    assert.equal(run.code, 7, run.stderr);
    assert.match(run.stderr, /is not inside a git repository/);
  });

  test('without a git identity it refuses instead of inventing one', async () => {
    const { dir, git } = await repo();
    await git.raw(['config', '--unset', 'user.name']);
    await git.raw(['config', '--unset', 'user.email']);
    const home = mkdtempSync(path.join(tmpdir(), 'odp-empty-home-'));
    made.push(home);
    mkdirSync(path.join(home, '.config'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      GIT_CONFIG_NOSYSTEM: '1',
    };
    for (const k of [
      'GIT_AUTHOR_NAME',
      'GIT_AUTHOR_EMAIL',
      'GIT_COMMITTER_NAME',
      'GIT_COMMITTER_EMAIL',
      'GIT_CONFIG_GLOBAL',
      'EMAIL',
    ])
      delete env[k];
    const before = await snapshot(dir, git);
    const run = await odp(['release', 'bump', '--feature'], dir, env);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /error: git does not know who you are/);
    assert.match(run.stderr, /hint: .*git config user\.name/);
    assert.deepEqual(await snapshot(dir, git), before);
  });
});
