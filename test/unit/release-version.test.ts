// Version arithmetic of `odp release bump` and the migration.yml append: pure,
// so every case is a string in, a string out (or a clear error).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { isOdpError } from '../../src/errors.js';
import { compareVersions, parseMigrationVersions } from '../../src/ops/release/migrations.js';
import { appendMigrationVersion, migrationVersions } from '../../src/release/migration-file.js';
import { nextVersion, parseVersion, type BumpKind } from '../../src/release/version.js';

const usage = (text: RegExp) => (e: unknown) => isOdpError(e) && e.code === 'USAGE' && text.test(e.message);

describe('nextVersion', () => {
  const cases: [string, BumpKind, string][] = [
    ['10.0.0\n', 'feature', '10.1.0'],
    ['10.1.0', 'patch', '10.1.1'],
    ['10.1.7\n', 'feature', '10.2.0'],
    ['10.2.3\n', 'major', '11.0.0'],
    ['0.0.0', 'patch', '0.0.1'],
    ['10.9.0', 'feature', '10.10.0'],
    ['14.0.1.2.0\n', 'feature', '14.0.1.3.0'],
    ['14.0.1.2.0', 'patch', '14.0.1.2.1'],
    ['14.0.1.2.5', 'major', '14.0.2.0.0'],
    ['16.0.1.9.3', 'feature', '16.0.1.10.0'],
    ['  12.0.3.0.0  \n', 'patch', '12.0.3.0.1'],
  ];
  for (const [from, kind, to] of cases) {
    test(`${JSON.stringify(from)} --${kind} → ${to}`, () => {
      assert.equal(nextVersion(from, kind), to);
      // marabunta must order the new version after the old one, or it would never run it.
      assert.ok(compareVersions(to, from.trim()) > 0);
    });
  }

  test('the series of a five-part version never changes', () => {
    for (const kind of ['major', 'feature', 'patch'] as const) {
      assert.equal(parseVersion(nextVersion('14.0.9.9.9', kind)).series, '14.0');
    }
    assert.equal(parseVersion('10.0.0').series, undefined);
  });

  for (const bad of [
    '',
    '\n',
    '10.0',
    '10.0.0.0',
    '10.0.0.0.0.0',
    'v10.0.0',
    '10.0.0-rc1',
    '10.01.0',
    '10.0.x',
    '10.0.0\n10.1.0\n',
    'latest',
  ]) {
    test(`refuses ${JSON.stringify(bad)}, naming the file and its content`, () => {
      assert.throws(
        () => nextVersion(bad, 'patch', 'odoo/VERSION'),
        (e: unknown) => {
          assert.ok(usage(/^odoo\/VERSION holds /)(e), String(e));
          assert.ok((e as Error).message.includes(JSON.stringify(bad)));
          return true;
        },
      );
    });
  }
});

describe('appendMigrationVersion', () => {
  const sample = readFileSync(
    new URL('../../examples/odoo-project/odoo/migration.yml', import.meta.url),
    'utf8',
  );

  test("appends to the sample project's file, keeping its text and comments", () => {
    const r = appendMigrationVersion(sample, '10.1.0');
    assert.equal(r.added, true);
    assert.equal(r.text, `${sample}    - version: 10.1.0\n`);
    assert.deepEqual(migrationVersions(r.text), ['setup', '10.0.0', '10.1.0']);
    // What the deploy reads from the image agrees.
    assert.deepEqual(
      parseMigrationVersions(r.text).map((v) => v.number),
      ['setup', '10.0.0', '10.1.0'],
    );
  });

  test('a listed version leaves the text unchanged', () => {
    assert.deepEqual(appendMigrationVersion(sample, '10.0.0'), { text: sample, added: false });
  });

  test('inserts at the end of the list, before what follows it, with the list indentation', () => {
    const text =
      'migration:\n  versions:\n  - version: setup\n  - version: 1.0.0\n  # after the list\n  options: {}\n';
    const r = appendMigrationVersion(text, '1.1.0');
    assert.equal(
      r.text,
      'migration:\n  versions:\n  - version: setup\n  - version: 1.0.0\n  - version: 1.1.0\n  # after the list\n  options: {}\n',
    );
    assert.deepEqual(parse(r.text).migration.options, {});
  });

  test('a file without a final newline', () => {
    const r = appendMigrationVersion('migration:\n  versions:\n    - version: setup', '1.0.0');
    assert.equal(r.text, 'migration:\n  versions:\n    - version: setup\n    - version: 1.0.0\n');
  });

  test('refuses a file without migration.versions, invalid YAML and an inline list', () => {
    assert.throws(
      () => appendMigrationVersion('migration:\n  options: {}\n', '1.0.0'),
      usage(/no migration\.versions/),
    );
    assert.throws(() => appendMigrationVersion('migration: [\n', '1.0.0'), usage(/not valid YAML/));
    assert.throws(
      () => appendMigrationVersion('migration:\n  versions: [{version: setup}]\n', '1.0.0'),
      usage(/inline/),
    );
  });
});
