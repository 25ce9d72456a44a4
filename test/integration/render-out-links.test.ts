// `odp render --out DIR` never writes through a symbolic link (issue 16,
// defect 4): a link at DIR/.env (or at any file it writes, or DIR itself being
// a link) refuses the whole render, nothing is written and the link's target
// is untouched; a regular file in the way is replaced, 0600, with no temp
// file left behind. The real CLI process on a copy of the example platform.
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readSecrets } from '../../src/secrets/store.js';
import { odpSpawned } from '../helpers/cli-in-process.js';
import { copyExamplePlatform } from '../helpers/specs.js';

const PASSPHRASE = 'odp-demo';
let root = '';
let dir = '';
/** A real secret of the example project: it must never reach a file a link points to. */
let password = '';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'odp-render-links-'));
  dir = join(root, 'platform');
  copyExamplePlatform(dir, { withSecrets: true });
  const secrets = await readSecrets(join(dir, 'projects', 'neomedical.env.gpg'), PASSPHRASE);
  password = secrets.get('TEST__DB_PASSWORD')?.reveal() ?? '';
  assert.ok(password, 'the example project has a secret to look for');
});
after(() => rmSync(root, { recursive: true, force: true }));

function render(out: string, ...more: string[]) {
  return odpSpawned(['--dir', dir, 'render', 'neomedical', 'test', '--out', out, ...more], {
    ...process.env,
    ODP_PASSPHRASE: PASSPHRASE,
  });
}

/** A file outside DIR that a planted link points to. */
function victim(name: string): string {
  const f = join(root, name);
  writeFileSync(f, 'precious\n', { mode: 0o644 });
  return f;
}

test('a link at DIR/.env refuses the render: nothing written, its target untouched', async () => {
  const out = join(root, 'out-env-link');
  mkdirSync(out);
  const target = victim('victim-env');
  symlinkSync(target, join(out, '.env'));
  const r = await render(out);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /refusing to write through symbolic links in .*: \.env → .*victim-env; nothing was written/,
  );
  assert.equal(readFileSync(target, 'utf8'), 'precious\n');
  assert.deepEqual(readdirSync(out), ['.env']);
  assert.ok(lstatSync(join(out, '.env')).isSymbolicLink());
  assert.equal(`${r.stdout}${r.stderr}`.includes(password), false);
});

test('a link at any file it writes refuses too (docker-compose.yml, rancher.env.gpg)', async () => {
  for (const [name, more] of [
    ['docker-compose.yml', []],
    ['rancher.env.gpg', ['--format', 'rancher']],
  ] as const) {
    const out = join(root, `out-link-${name}`);
    mkdirSync(out);
    const target = victim(`victim-${name}`);
    symlinkSync(target, join(out, name));
    const r = await render(out, ...more);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${name.replace('.', '\\.')} → `));
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    assert.deepEqual(readdirSync(out), [name]);
  }
});

test('DIR itself a link is refused, with the way to say the real directory', async () => {
  const real = join(root, 'real-dir');
  mkdirSync(real);
  const link = join(root, 'out-dir-link');
  symlinkSync(real, link);
  const r = await render(link);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /refusing to write into .*out-dir-link: it is a symbolic link \(to .*real-dir\)/);
  assert.match(r.stderr, /realpath/);
  assert.deepEqual(readdirSync(real), []);
});

test('a regular .env in the way is replaced, 0600, with no temp file left; a new DIR is made 0700', async () => {
  const out = join(root, 'out-regular');
  mkdirSync(out);
  writeFileSync(join(out, '.env'), 'OLD=1\n', { mode: 0o644 });
  const r = await render(out);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['.env', 'docker-compose.yml']);
  assert.equal(statSync(join(out, '.env')).mode & 0o777, 0o600);
  assert.ok(readFileSync(join(out, '.env'), 'utf8').includes(password));
  const fresh = join(root, 'out-new', 'nested');
  assert.equal(existsSync(fresh), false);
  assert.equal((await render(fresh)).code, 0);
  assert.equal(statSync(fresh).mode & 0o777, 0o700);
});
