// One version module (src/versions.ts): what is a release, and marabunta's order,
// used alike by migrations, backups (the version a dump was taken at), upgrades,
// the Rancher import and webhooks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareVersions, isMarabuntaVersion, PINNED_VERSION, versionKey } from '../../src/versions.js';

test('a pinned release is x.y.z or series.x.y.z; setup and latest are not', () => {
  for (const v of ['1.0.0', '10.0.12', '14.0.1.2.0']) assert.ok(PINNED_VERSION.test(v), v);
  for (const v of ['setup', 'latest', '1.0', '1.0.0.0', 'v1.0.0', '1.0.0-rc1', ' 1.0.0']) {
    assert.equal(PINNED_VERSION.test(v), false, v);
  }
  assert.ok(isMarabuntaVersion('setup'));
  assert.equal(isMarabuntaVersion('latest'), false);
});

test("marabunta's order: setup first, x.y.z as x.0.0.y.z", () => {
  const sorted = ['14.0.1.0.0', '14.0.1', 'setup', '14.0.0.2.0', '9.0.9', '14.0.0.10.0'].sort(
    compareVersions,
  );
  // 14.0.1 is 14.0.0.0.1: before 14.0.0.2.0, not equal to 14.0.1.0.0 (a plain
  // number-by-number comparison, as backups used, said those two were equal).
  assert.deepEqual(sorted, ['setup', '9.0.9', '14.0.1', '14.0.0.2.0', '14.0.0.10.0', '14.0.1.0.0']);
  assert.equal(compareVersions('10.0.1', '10.0.0.0.1'), 0);
  assert.deepEqual(versionKey('latest'), undefined);
  assert.ok(compareVersions('latest', 'setup') < 0, 'what is no version sorts first: callers filter');
});
