// The README's install path on an empty prefix: the packed tarball holds the
// bundled CLI (bin/, dist/cli/, images/ and nothing of the sources), installs
// with its dependencies (better-sqlite3's native module included), and the
// `odp` it puts in <prefix>/bin answers --version and reads a platform.
// The bundle is built into a staging copy, so the checkout's dist/ is left alone.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { copyExamplePlatform } from '../helpers/specs.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'odp-install-'));
after(() => rmSync(work, { recursive: true, force: true }));

const run = (cmd: string, args: string[], cwd = work): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('npm pack, then npm install -g --prefix: odp runs from the prefix', { timeout: 15 * 60_000 }, () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const stage = join(work, 'stage');
  mkdirSync(stage);
  for (const f of ['package.json', 'README.md', 'bin', 'images'])
    cpSync(join(repoRoot, f), join(stage, f), { recursive: true });
  run(process.execPath, [join(repoRoot, 'scripts/bundle.mjs'), join(stage, 'dist/cli')]);

  const packed = JSON.parse(
    run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], stage),
  ) as {
    filename: string;
    files: { path: string }[];
  }[];
  const paths = packed[0]!.files.map((f) => f.path);
  assert.ok(paths.includes('bin/odp.js') && paths.includes('dist/cli/main.js'), paths.join(' '));
  assert.ok(paths.includes('images/postgres/Dockerfile'), 'the image build contexts are packed');
  const stray = paths.filter(
    (p) => /^(src|test|bench|scripts|examples)\//.test(p) || p.endsWith('meta.json'),
  );
  assert.deepEqual(stray, [], 'only what runs is packed');

  const prefix = join(work, 'prefix');
  run('npm', [
    'install',
    '-g',
    '--prefix',
    prefix,
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    join(work, packed[0]!.filename),
  ]);
  const odp = join(prefix, 'bin/odp');
  assert.equal(run(odp, ['--version']).trim(), pkg.version);
  assert.match(run(odp, ['--help']), /Usage: odp/);

  // A command that opens the state database: the native module was built or fetched.
  const platform = join(work, 'platform');
  copyExamplePlatform(platform);
  assert.match(run(odp, ['-C', platform, 'history', 'neomedical', 'test']), /no operation recorded/);
});
