// A new user's first run (issues 10 and 17): from `odp init` to a deployed
// test instance, following only what odp prints. The test runs each `next:`
// command as printed (the user picks the project's NAME), does what "to fill
// in:" asks (here: the image, built from the sample project as CI would), and
// fails on any step it is not told how to take. The CLI runs in-process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { odpInProcess, type CliRun } from '../helpers/cli-in-process.js';
import { buildSampleImage, get, removeProject, setUp, tempDir, uniqueName } from './helpers.js';

const project = uniqueName('first');
const platform = `odp-first-${project}`;
const image = `odp-e2e/${project}_odoo`;
let dir: string;

type Run = CliRun;
const odp = odpInProcess;

/** The command of the `next:` line, split as a shell would ("…" and '…' quoting), without the leading `odp`. */
function nextCommand(r: Run): string[] {
  const line = /^next: (.+)$/m.exec(r.stdout)?.[1];
  assert.ok(line, `odp printed no next step:\n${r.stdout}${r.stderr}`);
  const command = line.replace(/\s{3}\(.*\)$/, ''); // the explanation after three spaces
  const words = [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
  assert.equal(words.shift(), 'odp', line);
  return words;
}

/** The "to fill in:" items, one per indented line. */
function toFill(r: Run): string[] {
  const block = /^to fill in:\n((?: {2}.*\n)*)/m.exec(r.stdout)?.[1] ?? '';
  return block
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim());
}

before(async () => {
  await setUp(); // platform images, a private state directory, ODP_PASSPHRASE
  dir = path.join(await tempDir('odp-first-run-'), platform);
});

after(async () => {
  if (dir) await odp(['--dir', dir, 'destroy', project, 'test', '--yes']);
  await removeProject(project, image, platform);
});

test('init → project new → check → deploy P test, by the printed next steps only', async () => {
  let r = await odp(['init', dir, '--domain', 'odoo.example.ch', '--email', 'ops@example.ch']);
  assert.equal(r.code, 0, r.stderr);

  // The user chooses the project's name; everything else is as printed.
  let args = nextCommand(r).map((w) => (w === 'NAME' ? project : w));
  assert.deepEqual(args.slice(0, 4), ['--dir', dir, 'project', 'new']);
  r = await odp(args);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /image {7}registry\.example\.com\/\S+ {3}\(a placeholder\)/);

  for (const item of toFill(r)) {
    const edit = /: edit (\S+):(\d+) \(image:\)/.exec(item);
    assert.ok(edit, `the test does not know how to fill in: ${item}`);
    const [, file, line] = edit;
    const lines = (await readFile(file!, 'utf8')).split('\n');
    assert.match(lines[Number(line) - 1]!, /^image: registry\.example\.com\//, 'the line named is the image');
    lines[Number(line) - 1] = `image: ${image}`;
    await writeFile(file!, lines.join('\n'));
    await buildSampleImage(`${image}:latest`, '16.0.0'); // what CI would publish
  }

  // Without a passphrase, check says what it did not check.
  args = nextCommand(r);
  assert.deepEqual(args.slice(-1), ['check']);
  const pass = process.env.ODP_PASSPHRASE;
  delete process.env.ODP_PASSPHRASE;
  try {
    const unchecked = await odp(args);
    assert.equal(unchecked.code, 0, unchecked.stderr);
    assert.match(unchecked.stdout, /^not checked: the secrets of 1 project/m);
    assert.doesNotMatch(unchecked.stdout, /^next:/m, 'no next step while the secrets are unchecked');
  } finally {
    process.env.ODP_PASSPHRASE = pass;
  }

  r = await odp(args);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^ok: /m);
  assert.deepEqual(toFill(r), []);

  args = nextCommand(r);
  assert.deepEqual(args.slice(-3), ['deploy', project, 'test']);
  r = await odp(args);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  const local = /local: (http:\/\/\S+)/.exec(r.stdout)?.[1];
  assert.ok(local, r.stdout);
  const health = await get(`${local}web/health`);
  assert.equal(health.status, 200, health.body);
});
