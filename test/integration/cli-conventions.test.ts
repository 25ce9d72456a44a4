// The conventions through the real CLI (issue 17): --version, `odp --json CMD`,
// usage errors as JSON, one exit code per kind of error (an unknown instance is
// not found, as an unknown project is), and the dry runs the table asks for
// write nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { odpInProcess as odp } from '../helpers/cli-in-process.js';
import { copyExamplePlatform } from '../helpers/specs.js';

let work = '';
let dir = '';
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

before(() => {
  work = mkdtempSync(join(tmpdir(), 'odp-conventions-'));
  dir = join(work, 'platform');
  copyExamplePlatform(dir, { withSecrets: true });
  process.env.ODP_PASSPHRASE = 'odp-demo';
});
after(() => {
  delete process.env.ODP_PASSPHRASE;
  rmSync(work, { recursive: true, force: true });
});

const errorOf = (stdout: string) =>
  (JSON.parse(stdout) as { error: { code: string; message: string } }).error;

test('odp --version and -V print package.json version; deploy --version stays its own flag', async () => {
  for (const flag of ['--version', '-V']) {
    const r = await odp([flag]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${pkg.version}\n`);
  }
  const r = await odp(['-C', dir, 'deploy', 'neomedical', 'prod', '--version', 'x.y', '--dry-run']);
  assert.equal(r.code, ExitCode.usage, r.stderr);
  assert.doesNotMatch(r.stdout, new RegExp(`^${pkg.version}$`, 'm'));
});

test('odp --json CMD is CMD --json; a command without JSON output refuses it', async () => {
  const before = await odp(['-C', dir, '--json', 'check']);
  const afterwards = await odp(['-C', dir, 'check', '--json']);
  assert.equal(before.code, 0, before.stderr);
  assert.deepEqual(JSON.parse(before.stdout), JSON.parse(afterwards.stdout));
  const refused = await odp(['-C', dir, '--json', 'secrets', 'edit', 'neomedical']);
  assert.equal(refused.code, ExitCode.usage);
  assert.match(errorOf(refused.stdout).message, /odp secrets edit has no JSON output/);
  // -C after the command, as before the conventions.
  const late = await odp(['check', '--json', '-C', dir]);
  assert.equal(late.code, 0, late.stderr);
});

test('usage errors are JSON on stdout when --json is given, text on stderr otherwise', async () => {
  for (const args of [
    ['--json', 'nonsense'],
    ['check', '--json', '--bogus'],
    ['history', 'neomedical', 'test', '--limit', 'x', '--json'],
  ]) {
    const r = await odp(['-C', dir, ...args]);
    assert.equal(r.code, ExitCode.usage, args.join(' '));
    const e = errorOf(r.stdout);
    assert.equal(e.code, 'USAGE');
    assert.doesNotMatch(e.message, /^error:/);
  }
  const text = await odp(['-C', dir, 'check', '--bogus']);
  assert.equal(text.code, ExitCode.usage);
  assert.equal(text.stdout, '');
  assert.match(text.stderr, /unknown option '--bogus'/);
});

test('an unknown instance exits as an unknown project does: not found', async () => {
  const cases = [
    ['history', 'neomedical', 'staging'],
    ['render', 'neomedical', 'staging'],
    ['destroy', 'neomedical', 'staging', '--dry-run'],
    ['secrets', 'get', 'neomedical', 'DB_PASSWORD', '--instance', 'staging'],
    ['db', 'reset', 'neomedical', 'staging', '--dry-run'],
    ['backup', 'neomedical', 'staging', '--dry-run'],
    ['history', 'nosuchproject', 'test'],
  ];
  for (const args of cases) {
    const r = await odp(['-C', dir, ...args, '--json']);
    assert.equal(r.code, ExitCode.notFound, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(errorOf(r.stdout).code, 'NOT_FOUND', args.join(' '));
  }
});

test('rollback takes -y; schema takes --json', async () => {
  const r = await odp(['-C', dir, 'rollback', 'neomedical', 'prod', '-y']);
  assert.equal(r.code, ExitCode.notFound, r.stderr);
  assert.match(r.stderr, /no earlier version of neomedical\/prod/, 'refused for its history, not for -y');
  const schema = await odp(['schema', '--kind', 'project', '--json']);
  assert.equal(schema.code, 0, schema.stderr);
  assert.equal((JSON.parse(schema.stdout) as { type: string }).type, 'object');
});

test('init --dry-run and secrets rotate --dry-run write nothing', async () => {
  const fresh = join(work, 'fresh');
  const init = await odp(['init', fresh, '--dry-run']);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /would create .*platform\.yaml/);
  assert.throws(() => readdirSync(fresh), /ENOENT/);

  const file = join(dir, 'projects/neomedical.env.gpg');
  const secrets = readFileSync(file);
  const rotate = await odp(['-C', dir, 'secrets', 'rotate', 'neomedical', '--instance', 'prod', '--dry-run']);
  assert.equal(rotate.code, 0, rotate.stderr);
  assert.match(rotate.stdout, /would rotate PROD__DB_PASSWORD/);
  assert.deepEqual(readFileSync(file), secrets, 'the secrets file is untouched');
});
