// `odp secrets …` end to end: the real CLI in a separate process (no
// controlling terminal, as in CI) on a temp copy of examples/platform.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { odpSpawned } from '../helpers/cli-in-process.js';
import { copyExamplePlatform } from '../helpers/specs.js';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadProjectSecrets, openSecrets, saveSecrets } from '../../src/ops/secrets/secrets.js';
import { hasTerminal } from '../../src/secrets/passphrase.js';

const PASS = 'cli test passphrase';
const AWS = 'aws-Secret/value with spaces';
let work: string;
let dir: string;
let secretsPath: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `odp -C <dir> …` detached (setsid): no terminal to prompt on, like CI. */
function odp(
  args: string[],
  opts: { input?: string; env?: Record<string, string | undefined> } = {},
): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, ODP_PASSPHRASE: PASS, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return odpSpawned(['-C', dir, ...args], env, opts.input ?? '');
}

const bytes = () => readFileSync(secretsPath);

before(() => {
  work = mkdtempSync(join(tmpdir(), 'odp-secrets-cli-'));
  dir = join(work, 'platform');
  copyExamplePlatform(dir);
  secretsPath = join(dir, 'projects/neomedical.env.gpg');
  writeFileSync(join(work, 'pass'), `${PASS}\n`);
});

after(() => rmSync(work, { recursive: true, force: true }));

test('set from stdin creates the file (0600); set from a file; get prints the value', async () => {
  let r = await odp(['secrets', 'set', 'neomedical', 'AWS_SECRET_ACCESS_KEY', '--stdin'], {
    input: `${AWS}\n`,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /added AWS_SECRET_ACCESS_KEY .*\(new file\)/);
  assert.equal(statSync(secretsPath).mode & 0o777, 0o600);

  const valueFile = join(work, 'db-pass');
  writeFileSync(valueFile, 'prod-db-password\n');
  r = await odp([
    'secrets',
    'set',
    'neomedical',
    'DB_PASSWORD',
    '--instance',
    'prod',
    '--value-file',
    valueFile,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /added PROD__DB_PASSWORD/);
  assert.ok(!r.stdout.includes('prod-db-password'));

  r = await odp(['secrets', 'get', 'neomedical', 'AWS_SECRET_ACCESS_KEY']);
  assert.deepEqual([r.code, r.stdout], [0, `${AWS}\n`]);
  r = await odp(['secrets', 'get', 'neomedical', 'DB_PASSWORD', '--instance', 'prod']);
  assert.deepEqual([r.code, r.stdout], [0, 'prod-db-password\n']);
  r = await odp(['secrets', 'get', 'neomedical', 'AWS_SECRET_ACCESS_KEY', '--instance', 'integration']);
  assert.deepEqual([r.code, r.stdout], [0, `${AWS}\n`], 'an instance sees the shared value');
  r = await odp(['secrets', 'get', 'neomedical', 'DB_PASSWORD', '--instance', 'integration']);
  assert.equal(r.code, 7);
  assert.match(r.stderr, /^error: DB_PASSWORD is set per instance \(prod\), not for integration$/m);
  // Without --instance: not "no such key", but the flag that reads it (issue 17).
  r = await odp(['secrets', 'get', 'neomedical', 'DB_PASSWORD']);
  assert.equal(r.code, 7);
  assert.match(r.stderr, /^error: DB_PASSWORD is set per instance \(prod\), not for the whole project$/m);
  assert.match(
    r.stderr,
    /^hint: Add --instance prod: `odp --dir \S+ secrets get neomedical DB_PASSWORD --instance prod`\.$/m,
  );
  assert.ok(!r.stderr.includes('prod-db-password'));
  r = await odp(['secrets', 'get', 'nope', 'DB_PASSWORD']);
  assert.equal(r.code, 7);
});

test('show masks values, in text and JSON; --reveal shows them', async () => {
  let r = await odp(['secrets', 'show', 'neomedical']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /all instances:\n\s+AWS_SECRET_ACCESS_KEY\s+\*{8}/);
  assert.match(r.stdout, /prod:\n\s+DB_PASSWORD\s+\*{8}/);
  assert.ok(!r.stdout.includes(AWS) && !r.stdout.includes('prod-db-password') && !r.stderr.includes(AWS));

  r = await odp(['secrets', 'show', 'neomedical', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes(AWS) && !r.stdout.includes('prod-db-password'));
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc.scopes, {
    all: { AWS_SECRET_ACCESS_KEY: '********' },
    test: {},
    integration: {},
    prod: { DB_PASSWORD: '********' },
  });

  r = await odp(['secrets', 'show', 'neomedical', '--reveal']);
  assert.ok(r.stdout.includes(AWS) && r.stdout.includes('prod-db-password'));
});

test('a wrong passphrase exits 4 and changes nothing; no passphrase at all says how to give one', async () => {
  const before = bytes();
  for (const args of [
    ['secrets', 'set', 'neomedical', 'X', '--stdin'],
    ['secrets', 'rotate', 'neomedical'],
    ['secrets', 'show', 'neomedical'],
  ]) {
    const r = await odp(args, { input: 'new value\n', env: { ODP_PASSPHRASE: 'wrong' } });
    assert.equal(r.code, 4, args.join(' '));
    assert.match(
      r.stderr,
      /wrong passphrase for projects\/neomedical\.env\.gpg|wrong passphrase for .*neomedical\.env\.gpg/,
    );
    // The passphrase in ODP_PASSPHRASE is wrong: not "set ODP_PASSPHRASE" (issue 17).
    assert.match(r.stderr, /^hint: The passphrase in ODP_PASSPHRASE does not open it: check its value/m);
    assert.doesNotMatch(r.stderr, /Set ODP_PASSPHRASE/);
    assert.ok(!r.stderr.includes('wrong\n'));
    assert.deepEqual(bytes(), before);
  }
  const passFile = join(work, 'wrong-pass');
  writeFileSync(passFile, 'wrong\n');
  let r = await odp(['secrets', 'get', 'neomedical', 'DB_PASSWORD', '--passphrase-file', passFile]);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /^hint: The first line of \S+wrong-pass \(--passphrase-file\) does not open it/m);
  r = await odp(['secrets', 'show', 'neomedical'], { env: { ODP_PASSPHRASE: undefined } });
  assert.equal(r.code, 4);
  assert.match(r.stderr, /ODP_PASSPHRASE/);
  assert.match(r.stderr, /--passphrase-file/);
  assert.match(r.stderr, /terminal/);
  assert.deepEqual(bytes(), before);
});

test('rotate regenerates DB_PASSWORD and ADMIN_PASSWD per instance and prints keys only', async () => {
  const get = async (key: string) => (await odp(['secrets', 'get', 'neomedical', key])).stdout.trim();
  let r = await odp(['secrets', 'rotate', 'neomedical']);
  assert.equal(r.code, 0, r.stderr);
  const keys = ['TEST', 'INTEGRATION', 'PROD'].flatMap((i) => [`${i}__DB_PASSWORD`, `${i}__ADMIN_PASSWD`]);
  for (const k of keys) assert.match(r.stdout, new RegExp(`rotated ${k}\\b`));
  assert.match(r.stderr, /odp provision neomedical/);
  const first = await get('PROD__DB_PASSWORD');
  assert.match(first, /^[A-Za-z0-9]{24}$/);
  assert.notEqual(first, 'prod-db-password');
  assert.ok(!r.stdout.includes(first));
  const adminBefore = await get('PROD__ADMIN_PASSWD');

  r = await odp(['secrets', 'rotate', 'neomedical', '--instance', 'prod', '--key', 'DB_PASSWORD', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).rotated, ['PROD__DB_PASSWORD']);
  assert.notEqual(await get('PROD__DB_PASSWORD'), first);
  assert.equal(await get('PROD__ADMIN_PASSWD'), adminBefore);
  assert.equal(await get('AWS_SECRET_ACCESS_KEY'), AWS);

  r = await odp(['secrets', 'rotate', 'neomedical', '--key', 'AWS_SECRET_ACCESS_KEY']);
  assert.equal(r.code, 2);
});

test('rotate --new-passphrase-file re-encrypts only; the old passphrase stops working', async () => {
  const newPass = join(work, 'new-pass');
  writeFileSync(newPass, 'the new passphrase\n');
  const valueBefore = (await odp(['secrets', 'get', 'neomedical', 'PROD__DB_PASSWORD'])).stdout;
  const r = await odp(['secrets', 'rotate', 'neomedical', '--new-passphrase-file', newPass]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /rotated/);
  assert.equal((await odp(['secrets', 'get', 'neomedical', 'PROD__DB_PASSWORD'])).code, 4);
  const after = await odp([
    'secrets',
    'get',
    'neomedical',
    'PROD__DB_PASSWORD',
    '--passphrase-file',
    newPass,
  ]);
  assert.deepEqual([after.code, after.stdout], [0, valueBefore]);
  // Back to the shared passphrase for the other tests.
  const oldPass = join(work, 'old-pass');
  writeFileSync(oldPass, `${PASS}\n`);
  const back = await odp([
    'secrets',
    'rotate',
    'neomedical',
    '--passphrase-file',
    newPass,
    '--new-passphrase-file',
    oldPass,
  ]);
  assert.equal(back.code, 0, back.stderr);
});

function editorScript(name: string, body: string): string {
  const path = join(work, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

test('edit: the editor appends a line, the file is re-encrypted, the temp file is gone', async () => {
  const editor = editorScript(
    'append.sh',
    `printf "%s\\n" "export NEW_KEY='added by editor'" >> "$1"; echo "$1" > "${work}/edited-path"`,
  );
  const r = await odp(['secrets', 'edit', 'neomedical'], { env: { EDITOR: editor, VISUAL: undefined } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /added: NEW_KEY/);
  const tempFile = readFileSync(join(work, 'edited-path'), 'utf8').trim();
  assert.ok(!existsSync(tempFile) && !existsSync(dirname(tempFile)), 'the plaintext temp file is removed');
  const got = await odp(['secrets', 'get', 'neomedical', 'NEW_KEY']);
  assert.equal(got.stdout, 'added by editor\n');
});

test('edit: a parse error changes nothing and keeps the edit; a failing editor changes nothing', async () => {
  const before = bytes();
  const broken = editorScript('broken.sh', `echo 'export BROKEN="unterminated' >> "$1"`);
  let r = await odp(['secrets', 'edit', 'neomedical'], { env: { EDITOR: broken, VISUAL: undefined } });
  assert.equal(r.code, 4);
  assert.match(r.stderr, /unterminated double quote/);
  const kept = /kept in (\S+\.env)/.exec(r.stderr)?.[1];
  assert.ok(kept && existsSync(kept), 'the temp file is kept');
  assert.equal(statSync(kept).mode & 0o777, 0o600);
  assert.match(readFileSync(kept, 'utf8'), /BROKEN="unterminated/);
  rmSync(dirname(kept), { recursive: true, force: true });
  assert.deepEqual(bytes(), before);

  const failing = editorScript('fail.sh', `echo "export X=1" >> "$1"; exit 1`);
  r = await odp(['secrets', 'edit', 'neomedical'], { env: { EDITOR: failing, VISUAL: undefined } });
  assert.equal(r.code, 130);
  assert.deepEqual(bytes(), before);
});

test('loadProjectSecrets: optional without a passphrase is undefined; with one, the values', async (t) => {
  if (hasTerminal()) return t.skip('this process has a terminal to prompt on');
  const saved = process.env.ODP_PASSPHRASE;
  delete process.env.ODP_PASSPHRASE;
  try {
    assert.equal(await loadProjectSecrets(dir, 'neomedical', { optional: true }), undefined);
    assert.equal(await loadProjectSecrets(dir, 'no-such-project', { optional: true }), undefined);
    await assert.rejects(loadProjectSecrets(dir, 'neomedical', {}), { code: 'SECRETS_NO_PASSPHRASE' });
    const values = await loadProjectSecrets(dir, 'neomedical', {
      passphraseFile: join(work, 'pass'),
      optional: true,
    });
    assert.equal(values?.get('NEW_KEY')?.reveal(), 'added by editor');
  } finally {
    if (saved !== undefined) process.env.ODP_PASSPHRASE = saved;
  }
});

test('a write refuses to clobber a file that changed since it was read (no lost update)', async () => {
  const opened = await openSecrets(dir, 'neomedical', { passphraseFile: join(work, 'pass') });
  const r = await odp(['secrets', 'set', 'neomedical', 'OTHER', '--stdin'], { input: 'x' });
  assert.equal(r.code, 0, r.stderr);
  const current = bytes();
  await assert.rejects(saveSecrets(opened, opened.values), { code: 'BUSY' });
  assert.deepEqual(bytes(), current);
});
