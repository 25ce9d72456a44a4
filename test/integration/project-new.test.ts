// `odp project new` (issue 16, defect 6): every option that becomes spec is
// checked by the project schema before anything is written, and the spec is
// written by the yaml library, so a value with a newline cannot add a key.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { runCli } from '../e2e/helpers.js';
import { copyExamplePlatform } from '../helpers/specs.js';

let dir = '';
const env = { ODP_PASSPHRASE: 'odp-demo' };
const files = () => readdirSync(join(dir, 'projects')).sort();

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'odp-new-'));
  copyExamplePlatform(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const cases: [string, string[], RegExp][] = [
  // The input that showed the defect: a newline in --image added a repository key.
  [
    'a newline in --image',
    ['--image', 'x/y\nrepository: github.com/evil/repo'],
    /--image: expected an image/,
  ],
  ['a newline in --client', ['--client', 'ACME\nrepository: github.com/evil/repo'], /--client: control/],
  ['an escape sequence in --client', ['--client', 'ACME \u001b[2J'], /--client: control/],
  ['an unknown --flavour', ['--flavour', 'weird'], /--flavour: /],
  ['a --series that is not one', ['--series', '16.0\nplan: x'], /--series: expected an Odoo series/],
  ['a --plan that is no slug', ['--plan', 'Gold Plan'], /--plan: expected lower-case/],
  ['--plan constructor', ['--plan', 'constructor'], /plan "constructor" is not declared/],
];

for (const [what, extra, message] of cases) {
  test(`${what} is refused and nothing is written`, async () => {
    const before = files();
    const args = ['--client', 'ACME Corp', '--plan', 'standard', ...extra];
    const r = await runCli(['-C', dir, 'project', 'new', 'acme', ...args], { env });
    assert.notEqual(r.code, 0, r.stdout);
    assert.ok(r.code === 2 || r.code === 7, `exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.deepEqual(files(), before);
  });
}

test('a traversal name is refused before anything is read or written', async () => {
  const r = await runCli(['-C', dir, 'project', 'new', '../evil', '--client', 'X', '--plan', 'standard'], {
    env,
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /NAME: expected lower-case/);
});

test('a valid project is written by the yaml library, with its comments, and loads as given', async () => {
  const client = 'Ünïcode "Quotes" & Co: #1';
  const r = await runCli(['-C', dir, 'project', 'new', 'acme', '--client', client, '--plan', 'standard'], {
    env,
  });
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(join(dir, 'projects/acme.yaml'), 'utf8');
  assert.match(text, /# Random, and never the customer's name/);
  const d = parse(text) as { client: string; repository?: string; instances: { prod: { database: string } } };
  assert.equal(d.client, client);
  assert.equal(d.repository, undefined);
  const render = await runCli(['-C', dir, 'render', 'acme', 'prod'], { env });
  assert.equal(render.code, 0, render.stderr);
  assert.match(render.stdout, new RegExp(`DB_NAME: ${d.instances.prod.database}`));
});
