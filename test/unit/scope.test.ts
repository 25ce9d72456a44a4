// Per-instance scoping of secrets: `PROD__DB_PASSWORD` is prod's DB_PASSWORD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Secret } from '../../src/secret.js';
import { parseKey, scopedKey, secretsForInstance } from '../../src/secrets/scope.js';

test('scopedKey upper-cases the instance and joins with a double underscore', () => {
  assert.equal(scopedKey('prod', 'DB_PASSWORD'), 'PROD__DB_PASSWORD');
  assert.equal(scopedKey('integration', 'ADMIN_PASSWD'), 'INTEGRATION__ADMIN_PASSWD');
  assert.equal(scopedKey('test', 'X'), 'TEST__X');
});

test('parseKey splits known instance prefixes only', () => {
  assert.deepEqual(parseKey('PROD__DB_PASSWORD'), { instance: 'prod', name: 'DB_PASSWORD' });
  assert.deepEqual(parseKey('prod__DB_PASSWORD'), { instance: 'prod', name: 'DB_PASSWORD' });
  assert.deepEqual(parseKey('TEST__A__B'), { instance: 'test', name: 'A__B' });
  assert.deepEqual(parseKey('DB_PASSWORD'), { name: 'DB_PASSWORD' });
  assert.deepEqual(parseKey('STAGING__DB_PASSWORD'), { name: 'STAGING__DB_PASSWORD' });
  assert.deepEqual(parseKey('__PROD'), { name: '__PROD' });
});

test('parseKey inverts scopedKey', () => {
  for (const inst of ['test', 'integration', 'prod'] as const) {
    assert.deepEqual(parseKey(scopedKey(inst, 'AWS_SECRET_ACCESS_KEY')), {
      instance: inst,
      name: 'AWS_SECRET_ACCESS_KEY',
    });
  }
});

test('an instance sees the shared secrets, its own overriding them, and no other instance’s', () => {
  const all = new Map([
    ['DB_PASSWORD', new Secret('shared')],
    ['AWS_SECRET_ACCESS_KEY', new Secret('aws')],
    ['PROD__DB_PASSWORD', new Secret('prod-db')],
    ['INTEGRATION__ADMIN_PASSWD', new Secret('int-admin')],
  ]);
  const reveal = (m: Map<string, Secret>) => Object.fromEntries([...m].map(([k, v]) => [k, v.reveal()]));
  assert.deepEqual(reveal(secretsForInstance(all, 'prod')), {
    DB_PASSWORD: 'prod-db',
    AWS_SECRET_ACCESS_KEY: 'aws',
  });
  assert.deepEqual(reveal(secretsForInstance(all, 'integration')), {
    DB_PASSWORD: 'shared',
    AWS_SECRET_ACCESS_KEY: 'aws',
    ADMIN_PASSWD: 'int-admin',
  });
  assert.deepEqual(reveal(secretsForInstance(all, 'test')), {
    DB_PASSWORD: 'shared',
    AWS_SECRET_ACCESS_KEY: 'aws',
  });
});

test('the override wins whatever the order of the map', () => {
  const all = new Map([
    ['PROD__X', new Secret('scoped')],
    ['X', new Secret('shared')],
  ]);
  assert.equal(secretsForInstance(all, 'prod').get('X')?.reveal(), 'scoped');
});
