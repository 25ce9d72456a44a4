// `odp import rancher` on files shaped like real ones (issue 10, "Real files"):
// what docker-compose 1.x accepts is imported (a duplicate key: the last wins,
// with a warning at file:line), an unfilled cookiecutter template is refused
// naming file, line and placeholder, and a stack passphrase that is not the
// project's is asked for by its option. Through the real CLI.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encryptText } from '../../src/secrets/crypto.js';
import { runCli } from '../e2e/helpers.js';
import { copyExamplePlatform } from '../helpers/specs.js';

const REAL = join(import.meta.dirname, '..', 'fixtures', 'real');
const ORIGINAL = join(import.meta.dirname, '..', 'fixtures', 'original');
const env = { ODP_PASSPHRASE: 'project passphrase' };
const tmp = mkdtempSync(join(tmpdir(), 'odp-import-real-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function platform(name: string): string {
  const dir = join(tmp, name);
  copyExamplePlatform(dir);
  return dir;
}
const projectFiles = (dir: string) =>
  readdirSync(join(dir, 'projects'))
    .sort()
    .map((f) => `${f}:${readFileSync(join(dir, 'projects', f), 'base64')}`);

test('a duplicate key is imported as docker-compose reads it (the last wins), with a warning at its line', async () => {
  const dir = platform('dup');
  const stack = join(REAL, 'duplicate-key');
  const r = await runCli(
    ['-C', dir, 'import', 'rancher', stack, '--project', 'neomedical', '--instance', 'integration', '--json'],
    { env },
  );
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { warnings: string[] };
  const dup = report.warnings.filter((w) => /duplicate key/.test(w));
  assert.equal(dup.length, 2, report.warnings.join('\n'));
  assert.ok(
    dup.some((w) => w.includes(`docker-compose.yml:3: duplicate key "image" (first on line 2)`)),
    dup[0],
  );
  assert.ok(
    dup.some((w) => w.includes(`docker-compose.yml:44: duplicate key "labels" (first on line 42)`)),
    dup[1],
  );
  // The second image line is the one kept: version 10.0.0, not 9.0.0.
  const text = readFileSync(join(dir, 'projects', 'neomedical.yaml'), 'utf8');
  assert.match(
    text,
    /^ {2}integration:\n {4}domain: integration\.neomedical\.odoo\.camptocamp\.ch\n {4}version: 10\.0\.0$/m,
  );
});

test('what docker-compose refuses is still refused: an unknown YAML tag', async () => {
  const dir = platform('tag');
  const stack = join(tmp, 'tag-stack');
  cpSync(join(ORIGINAL, 'integration'), stack, { recursive: true });
  const compose = join(stack, 'docker-compose.yml');
  writeFileSync(compose, readFileSync(compose, 'utf8').replace('  command: odoo', '  command: !shell odoo'));
  const before = projectFiles(dir);
  const r = await runCli(
    ['-C', dir, 'import', 'rancher', stack, '--project', 'neomedical', '--instance', 'integration'],
    { env },
  );
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /docker-compose\.yml:3:\d+: .*!shell.*docker-compose refuses it too/);
  assert.deepEqual(projectFiles(dir), before);
});

test('an unfilled cookiecutter template is refused, naming file, line and placeholder', async () => {
  const dir = platform('cookie');
  const before = projectFiles(dir);
  const r = await runCli(
    [
      '-C',
      dir,
      'import',
      'rancher',
      join(REAL, 'cookiecutter'),
      '--project',
      'neomedical',
      '--instance',
      'test',
    ],
    { env },
  );
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    /docker-compose\.yml:2: the stack is still a cookiecutter template \(\{\{ cookiecutter\.project_name \}\}\)/,
  );
  assert.match(
    r.stderr,
    /docker-compose\.yml:2:21: unfilled cookiecutter placeholder \{\{ cookiecutter\.project_name \}\}/,
  );
  assert.match(
    r.stderr,
    /rancher\.public\.env:1:\d+: unfilled cookiecutter placeholder \{\{ cookiecutter\.customer_shortname \}\}/,
  );
  assert.deepEqual(projectFiles(dir), before);
});

test('a rancher.env.gpg with its own passphrase: the message names --stack-passphrase-file', async () => {
  const dir = platform('pass');
  const stack = join(tmp, 'gpg-stack');
  cpSync(join(ORIGINAL, 'integration'), stack, { recursive: true });
  const plain = readFileSync(join(stack, 'rancher.env'), 'utf8');
  writeFileSync(join(stack, 'rancher.env.gpg'), await encryptText(plain, 'the stack passphrase'));
  rmSync(join(stack, 'rancher.env'));
  const args = [
    '-C',
    dir,
    'import',
    'rancher',
    stack,
    '--project',
    'neomedical',
    '--instance',
    'integration',
  ];

  const wrong = await runCli(args, { env });
  assert.equal(wrong.code, 4, wrong.stderr);
  assert.match(wrong.stderr, /wrong passphrase for .*rancher\.env\.gpg/);
  assert.match(wrong.stderr, /--stack-passphrase-file FILE/);

  const bad = join(tmp, 'bad-pass');
  writeFileSync(bad, 'not it\n');
  const wrongFile = await runCli([...args, '--stack-passphrase-file', bad], { env });
  assert.equal(wrongFile.code, 4, wrongFile.stderr);
  assert.match(wrongFile.stderr, /The passphrase in --stack-passphrase-file .*bad-pass does not open/);

  const good = join(tmp, 'good-pass');
  writeFileSync(good, 'the stack passphrase\n');
  const ok = await runCli([...args, '--stack-passphrase-file', good], { env });
  assert.equal(ok.code, 0, ok.stderr);
});
