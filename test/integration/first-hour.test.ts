// A newcomer's first hour (issue 17), through the real CLI without a container
// engine: what `init`, `project new` and `check` print must be true, and the
// `next:` step they print must work. Each test says which finding it holds.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { odpSpawned } from '../helpers/cli-in-process.js';
import { copyExamplePlatform } from '../helpers/specs.js';

let work = '';
/** The environment of a shell without odp's variables (no passphrase, no key, no ODP_DIR). */
const bare: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('ODP_')),
);
const odp = (args: string[], env: NodeJS.ProcessEnv = {}, input = '') =>
  odpSpawned(args, { ...bare, ...env }, input);

before(() => {
  work = mkdtempSync(join(tmpdir(), 'odp-first-hour-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

test('check without a passphrase never prints a bare ok: it says the secrets were not checked', async () => {
  const dir = join(work, 'unchecked');
  copyExamplePlatform(dir, { withSecrets: true });
  const r = await odp(['-C', dir, 'check']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /^ok:/m);
  assert.match(r.stdout, /^ok \(secrets not checked\): platform \S+, 1 project, 12 of 13 rules$/m);
  assert.match(
    r.stdout,
    /^not checked: the secrets of 1 project \(no passphrase or key: set ODP_PASSPHRASE/m,
  );
  const full = await odp(['-C', dir, 'check'], { ODP_PASSPHRASE: 'odp-demo' });
  assert.equal(full.code, 0, full.stderr);
  assert.match(full.stdout, /^ok: platform \S+, 1 project, 13 rules$/m);
});

test('check names a missing secrets file instead of asking for a passphrase', async () => {
  const dir = join(work, 'no-file');
  copyExamplePlatform(dir);
  const r = await odp(['-C', dir, 'check'], { ODP_PASSPHRASE: 'odp-demo' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ok \(secrets not checked\)/m);
  assert.match(
    r.stdout,
    /^not checked: the secrets of 1 project \(no secrets file: \S*neomedical\.env\.gpg/m,
  );
});

/** A platform made by `odp init`, its storage switched to an external S3 endpoint (whose keys only the user has). */
async function externalStoragePlatform(name: string): Promise<string> {
  const dir = join(work, name);
  const init = await odp(['init', dir, '--domain', 'odoo.example.ch', '--email', 'ops@example.ch']);
  assert.equal(init.code, 0, init.stderr);
  const file = join(dir, 'platform.yaml');
  const text = readFileSync(file, 'utf8').replace(
    /^ {2}storage: .*$/m,
    '  storage: { endpoint: "https://sos-ch-gva-2.exo.io", region: ch-gva-2 }',
  );
  writeFileSync(file, text);
  return dir;
}

/** The command of a `next:` line, without `odp` and the explanation after three spaces. */
function nextCommand(stdout: string): string[] {
  const line = /^next: (.+)$/m.exec(stdout)?.[1];
  assert.ok(line, `no next step:\n${stdout}`);
  const words = line.replace(/\s{3}\(.*\)$/, '').split(' ');
  assert.equal(words.shift(), 'odp', line);
  return words;
}

test('project new with external storage: next is the secret to set, and once they are set check passes', async () => {
  const dir = await externalStoragePlatform('external');
  const env = { ODP_PASSPHRASE: 'first hour' };
  const r = await odp(
    [
      '--dir',
      dir,
      'project',
      'new',
      'acme',
      '--client',
      'ACME Corp',
      '--plan',
      'standard',
      '--image',
      'ghcr.io/acme/acme_odoo',
    ],
    env,
  );
  assert.equal(r.code, 0, r.stderr);
  const next = nextCommand(r.stdout);
  assert.deepEqual(next, [
    '--dir',
    dir,
    'secrets',
    'set',
    'acme',
    'AWS_ACCESS_KEY_ID',
    '--instance',
    'integration',
  ]);
  assert.match(r.stdout, /then the other 3 under "to fill in:", then odp --dir \S+ check\)$/m);
  // Before they are set, check fails: that is why it is not the next step.
  const early = await odp(['--dir', dir, 'check'], env);
  assert.equal(early.code, 3, early.stdout);
  const commands = [...r.stdout.matchAll(/^ {2}.*: odp (--dir .*secrets set .*)$/gm)].map((m) =>
    m[1]!.split(' '),
  );
  assert.equal(commands.length, 4, r.stdout);
  assert.deepEqual(commands[0], next);
  for (const c of commands) {
    const set = await odp([...c, '--stdin'], env, 'not-a-real-key\n');
    assert.equal(set.code, 0, set.stderr);
  }
  const check = await odp(['--dir', dir, 'check'], env);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /^ok: platform external, 1 project, 13 rules$/m);
});

test('project new --dry-run shows what the run writes: the random name as <random>, drawn when written', async () => {
  const dir = join(work, 'dry');
  copyExamplePlatform(dir);
  const args = ['--dir', dir, 'project', 'new', 'acme', '--client', 'ACME Corp', '--plan', 'standard'];
  const dry = await odp([...args, '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const shown = JSON.parse(dry.stdout) as { yaml: string; database: string; written: boolean };
  assert.equal(shown.database, '<random>');
  assert.equal(shown.written, false);
  assert.equal(existsSync(join(dir, 'projects', 'acme.yaml')), false);
  const text = await odp([...args, '--dry-run']);
  assert.match(text.stdout, /^ {4}database: <random>$/m);
  assert.match(text.stdout, /^# <random>: a random name .* drawn when the file is written$/m);

  const run = await odp(args, { ODP_PASSPHRASE: 'first hour' });
  assert.equal(run.code, 0, run.stderr);
  const written = readFileSync(join(dir, 'projects', 'acme.yaml'), 'utf8');
  const database = /^ {4}database: (\w+)$/m.exec(written)?.[1];
  assert.ok(database, written);
  // Everything else is what the dry run showed, line for line.
  assert.equal(written, shown.yaml.replaceAll('<random>', database));
});

test('init refuses what check would refuse, before writing anything', async () => {
  for (const [flags, message] of [
    [['--domain', 'Odoo_Bad..ch'], /--domain: "Odoo_Bad\.\.ch": expected a lower-case DNS name/],
    [['--email', 'ops-at-acme.ch'], /--email: "ops-at-acme\.ch": Invalid email/],
    [['--domain', 'acme.ch\nbogus: 1'], /--domain: "acme\.ch\\nbogus: 1"/],
    [['--name', 'My Platform'], /--name: "My Platform": expected lower-case/],
  ] as const) {
    const dir = join(work, 'refused');
    const r = await odp(['init', dir, ...flags]);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /nothing was written/);
    assert.equal(existsSync(dir), false, `${flags.join(' ')} created ${dir}`);
  }
});

test("init starts on Let's Encrypt's staging directory, says so, and check accepts what it wrote", async () => {
  const dir = join(work, 'staging');
  const r = await odp(['init', dir, '--domain', 'odoo.acme.ch', '--email', 'ops@acme.ch']);
  assert.equal(r.code, 0, r.stderr);
  const at =
    /^acme: Let's Encrypt's staging directory .* edit (\S+):(\d+) to https:\/\/acme-v02\.api\.letsencrypt\.org\/directory$/m.exec(
      r.stdout,
    );
  assert.ok(at, r.stdout);
  const lines = readFileSync(at[1]!, 'utf8').split('\n');
  assert.equal(
    lines[Number(at[2]) - 1],
    '  directory: https://acme-staging-v02.api.letsencrypt.org/directory',
  );
  assert.match(lines.slice(0, Number(at[2])).join('\n'), /# .*switch to production: https:\/\/acme-v02/);
  const check = await odp(['-C', dir, 'check']);
  assert.equal(check.code, 0, check.stdout + check.stderr);
});

test('the spec files odp writes start with a schema line editors resolve, offline, to what odp schema prints', async () => {
  const dir = join(work, 'schema');
  assert.equal((await odp(['init', dir])).code, 0);
  const env = { ODP_PASSPHRASE: 'first hour' };
  const created = await odp(
    ['-C', dir, 'project', 'new', 'acme', '--client', 'ACME Corp', '--plan', 'standard'],
    env,
  );
  assert.equal(created.code, 0, created.stderr);
  const stack = join(import.meta.dirname, '..', 'fixtures', 'original', 'integration');
  const imported = await odp(
    ['-C', dir, 'import', 'rancher', stack, '--project', 'neo', '--instance', 'integration'],
    env,
  );
  assert.equal(imported.code, 0, imported.stderr);
  for (const [file, kind] of [
    ['platform.yaml', 'platform'],
    ['projects/acme.yaml', 'project'],
    ['projects/neo.yaml', 'project'],
  ] as const) {
    const first = readFileSync(join(dir, file), 'utf8').split('\n')[0]!;
    const schema = /^# yaml-language-server: \$schema=(\S+)$/.exec(first)?.[1];
    assert.ok(schema, `${file} starts with ${first}`);
    // yaml-language-server resolves a relative path from the file's own directory.
    const path = join(dirname(join(dir, file)), schema);
    const printed = await odp(['schema', '--kind', kind]);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), JSON.parse(printed.stdout), file);
  }
  // To odp the line is a comment: the files load (check would report them otherwise).
  const check = await odp(['-C', dir, 'check'], env);
  assert.doesNotMatch(check.stderr, /problem/, check.stderr);
});
