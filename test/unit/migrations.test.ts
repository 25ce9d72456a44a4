import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compareVersions,
  parseMigrationVersions,
  pendingMigrations,
  versionKey,
} from '../../src/ops/release/migrations.js';

const file = `
migration:
  options:
    install_command: odoo
  versions:
    - version: 10.0.2
      operations:
        post:
          - ref-sql "INSERT INTO t VALUES (1)"
    - version: setup
      addons:
        upgrade:
          - base
    - version: 10.0.0
      backup: false
    - version: 9.0.1.0.1
      modes:
        full:
          operations:
            pre:
              - echo hi
`;

describe('marabunta versions', () => {
  test('setup sorts first and x.y.z reads as x.0.0.y.z', () => {
    assert.deepEqual(versionKey('setup'), [0]);
    assert.deepEqual(versionKey('10.1.2'), [1, 10, 0, 0, 1, 2]);
    assert.deepEqual(versionKey('14.0.1.2.0'), [1, 14, 0, 1, 2, 0]);
    assert.ok(compareVersions('setup', '0.0.1') < 0);
    assert.ok(compareVersions('1.2.0', '1.10.0') < 0);
    assert.ok(compareVersions('10.0.1', '10.0.0.0.2') < 0, '10.0.1 is 10.0.0.0.1');
    assert.equal(compareVersions('10.0.1', '10.0.0.0.1'), 0);
    assert.ok(compareVersions('9.9.9', '10.0.0') < 0);
  });

  test('an invalid version is refused', () => {
    assert.equal(versionKey('1.2'), undefined);
    for (const bad of ['1.2', 'v1.0.0'])
      assert.throws(
        () => parseMigrationVersions(`migration:\n  versions:\n    - version: ${bad}\n`),
        /migration version "[^"]+" is not valid/,
      );
  });

  test('the file is parsed in marabunta order, with its no-op versions', () => {
    const v = parseMigrationVersions(file);
    assert.deepEqual(
      v.map((x) => x.number),
      ['setup', '9.0.1.0.1', '10.0.0', '10.0.2'],
    );
    assert.deepEqual(
      v.map((x) => x.noop),
      [false, false, true, false],
    );
  });

  test('a file without versions, a duplicate version or a duplicate key is refused', () => {
    assert.throws(() => parseMigrationVersions('migration: {}'), /no migration.versions/);
    assert.throws(
      () => parseMigrationVersions('migration:\n  versions:\n    - version: setup\n    - version: setup\n'),
      /twice/,
    );
    assert.throws(
      () => parseMigrationVersions('migration:\n  versions: []\n  versions: []\n'),
      /does not parse/,
    );
  });
});

describe('pending migrations', () => {
  const versions = parseMigrationVersions(file);

  test('a fresh database (no marabunta_version table) has every version pending', () => {
    const p = pendingMigrations(versions, undefined);
    assert.equal(p.fresh, true);
    assert.deepEqual(p.pending, ['setup', '9.0.1.0.1', '10.0.0', '10.0.2']);
    assert.deepEqual(p.unfinished, []);
  });

  test('done versions are not pending; nothing pending when all are done', () => {
    const done = (n: string) => ({ number: n, dateDone: new Date() });
    const p = pendingMigrations(versions, [done('setup'), done('9.0.1.0.1'), done('10.0.0')]);
    assert.equal(p.fresh, false);
    assert.deepEqual(p.pending, ['10.0.2']);
    const all = pendingMigrations(
      versions,
      versions.map((v) => done(v.number)),
    );
    assert.deepEqual(all.pending, []);
  });

  test('a started, unfinished version is pending and reported as unfinished', () => {
    const p = pendingMigrations(versions, [
      { number: 'setup', dateDone: new Date() },
      { number: '9.0.1.0.1', dateDone: new Date() },
      { number: '10.0.0', dateDone: new Date() },
      { number: '10.0.2', dateDone: null },
    ]);
    assert.deepEqual(p.pending, ['10.0.2']);
    assert.deepEqual(p.unfinished, ['10.0.2']);
  });
});
