// One broken project file never takes the others down (issue 16, defect 2;
// issue 17): `check` reports it with file and line (exit 3), while `render`
// of another project keeps working, and a command on the broken project fails
// with that file's own error. Through the real CLI, on a copy of the example.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../e2e/helpers.js';
import { copyExamplePlatform, mutate, otherProjectText } from '../helpers/specs.js';

let dir = '';
const env = { ODP_PASSPHRASE: 'odp-demo' };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'odp-broken-'));
  copyExamplePlatform(dir, { withSecrets: true });
  // A second, healthy project beside the example's.
  writeFileSync(join(dir, 'projects/acme.yaml'), otherProjectText());
  // The input that showed defect 2: an alias to no anchor, line 2.
  writeFileSync(join(dir, 'projects/broken.yaml'), 'name: broken\nclient: *nope\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('check reports the broken file with its line and exits 3', async () => {
  const r = await runCli(['-C', dir, 'check']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /projects\/broken\.yaml:2:9: alias to an anchor that is not defined/);
  assert.doesNotMatch(r.stderr, /ReferenceError|\n\s+at /);
});

test('check also runs the rules over the projects that load: a domain two of them share is reported', async () => {
  const dup = join(dir, 'projects/dup.yaml');
  writeFileSync(
    dup,
    mutate(otherProjectText(), (d) => {
      d.name = 'dup';
      d.instances.prod.database = 'green_moss_4242';
      d.instances.integration.domain = 'integration.dup.odoo.example.ch';
      d.instances.prod.domain = 'dup.odoo.example.ch';
    }),
  );
  const dupSecrets = join(dir, 'projects/dup.env.gpg');
  copyFileSync(join(dir, 'projects/neomedical.env.gpg'), dupSecrets);
  try {
    const r = await runCli(['-C', dir, 'check', '--json']);
    assert.equal(r.code, 3, r.stderr);
    const { error } = JSON.parse(r.stdout) as { error: { problems: { file: string; message: string }[] } };
    const seen = error.problems.map((p) => `${p.file.replace(/^.*\/projects/, 'projects')}: ${p.message}`);
    assert.ok(
      seen.some((l) => /^projects\/broken\.yaml: alias/.test(l)),
      seen.join('\n'),
    );
    assert.ok(
      seen.some((l) =>
        /^projects\/(dup|acme)\.yaml: domain test\.acme\.odoo\.example\.ch is also used/.test(l),
      ),
      seen.join('\n'),
    );
    // The deploy of one of them is refused for it before any engine is asked,
    // with a warning that the broken file could not be compared.
    const deploy = await runCli(['-C', dir, 'deploy', 'dup', 'test', '--dry-run'], { env });
    assert.equal(deploy.code, 3, deploy.stderr);
    assert.match(deploy.stderr, /warning: \S*projects\/broken\.yaml:2:9: .*dup was not compared with it/);
    assert.match(
      deploy.stderr,
      /domain-unique: domain test\.acme\.odoo\.example\.ch is also used by acme\/test/,
    );
  } finally {
    rmSync(dup);
    rmSync(dupSecrets);
  }
});

test('render of another project works; render of the broken one fails with its own error', async () => {
  const ok = await runCli(['-C', dir, 'render', 'acme', 'test'], { env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /acme-odoo-test/);
  const bad = await runCli(['-C', dir, 'render', 'broken', 'test'], { env });
  assert.equal(bad.code, 3, bad.stderr);
  assert.match(bad.stderr, /projects\/broken\.yaml:2:9/);
});

test('an import into the broken project fails with its error and leaves the file as it is', async () => {
  const file = join(dir, 'projects/broken.yaml');
  const before = readFileSync(file, 'utf8');
  const stack = join(import.meta.dirname, '..', 'fixtures', 'original', 'prod');
  const r = await runCli(
    ['-C', dir, 'import', 'rancher', stack, '--project', 'broken', '--instance', 'prod', '--client', 'X'],
    { env },
  );
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /projects\/broken\.yaml:2:9/);
  assert.equal(readFileSync(file, 'utf8'), before);
});

test("a broken platform.yaml still stops everything, with the project files' problems too", async () => {
  const platform = join(dir, 'platform.yaml');
  const text = readFileSync(platform, 'utf8');
  writeFileSync(platform, `${text}\nbogus: *none\n`);
  try {
    const r = await runCli(['-C', dir, 'render', 'acme', 'test'], { env });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /platform\.yaml:\d+:\d+: alias/);
    assert.match(r.stderr, /projects\/broken\.yaml:2:9/);
  } finally {
    writeFileSync(platform, text);
  }
});
