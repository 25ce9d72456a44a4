// platform.yaml's backup retention (decision 0079): the GFS default, the platform's
// own, a plan's override and the older `keep`, as an instance gets them; and
// wrong values refused with the path of the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSpec } from '../../src/platform-spec/parse.js';
import { platformSchema, type PlatformSpec } from '../../src/platform-spec/platform-schema.js';
import { retentionPolicy } from '../../src/plan/retention.js';
import { examplePlatformText, mutate, refusals } from '../helpers/specs.js';

type Data = Parameters<typeof mutate>[1];

const platform = (change?: Data): PlatformSpec =>
  parseSpec('platform.yaml', mutate(examplePlatformText, change), platformSchema).value;

/** The policy of an instance on `plan`. */
const policyOf = (p: PlatformSpec, plan: string) => retentionPolicy(p.backups, p.plans[plan]!);

const problems = (change: Data) =>
  refusals(mutate(examplePlatformText, change), platformSchema, 'platform.yaml');

test('a platform that says nothing keeps 7 daily, 4 weekly, 3 monthly', () => {
  assert.deepEqual(policyOf(platform(), 'standard'), { kind: 'gfs', daily: 7, weekly: 4, monthly: 3 });
});

test("the platform's retention: a field left out is the default", () => {
  const p = platform((d) => (d.backups = { retention: { daily: 14, monthly: 12 } }));
  assert.deepEqual(policyOf(p, 'standard'), { kind: 'gfs', daily: 14, weekly: 4, monthly: 12 });
});

test("a plan's backups: its instances follow it, a field it leaves out is the platform's", () => {
  const p = platform((d) => {
    d.backups = { retention: { daily: 10, weekly: 5, monthly: 6 } };
    d.plans.large.backups = { monthly: 24, weekly: 0 };
  });
  assert.deepEqual(policyOf(p, 'large'), { kind: 'gfs', daily: 10, weekly: 0, monthly: 24 });
  assert.deepEqual(policyOf(p, 'standard'), { kind: 'gfs', daily: 10, weekly: 5, monthly: 6 });
});

test('the older keep still keeps the newest N; a plan with backups keeps GFS', () => {
  const p = platform((d) => {
    d.backups = { keep: 5 };
    d.plans.large.backups = { daily: 30 };
  });
  assert.deepEqual(policyOf(p, 'standard'), { kind: 'newest', keep: 5 });
  // Without the platform's retention, the fields the plan leaves out are the defaults.
  assert.deepEqual(policyOf(p, 'large'), { kind: 'gfs', daily: 30, weekly: 4, monthly: 3 });
});

test('wrong retention values are refused, each with its path', () => {
  const cases: [Data, string, RegExp][] = [
    [(d) => (d.backups = { retention: { daily: 0 } }), 'backups.retention.daily', />=1/],
    [(d) => (d.backups = { retention: { weekly: -1 } }), 'backups.retention.weekly', />=0/],
    [(d) => (d.backups = { retention: { monthly: 1.5 } }), 'backups.retention.monthly', /expected int/],
    [(d) => (d.backups = { retention: { daily: 1001 } }), 'backups.retention.daily', /<=1000/],
    [(d) => (d.backups = { retention: { yearly: 2 } }), 'backups.retention.yearly', /unknown field "yearly"/],
    [(d) => (d.plans.large.backups = { daily: 0 }), 'plans.large.backups.daily', />=1/],
    [(d) => (d.plans.large.backups = { weekly: 'four' }), 'plans.large.backups.weekly', /expected number/],
    [(d) => (d.backups = { keep: 7, retention: {} }), 'backups.keep', /exclude each other/],
  ];
  for (const [change, path, message] of cases) {
    const ps = problems(change);
    assert.equal(ps.length, 1, JSON.stringify(ps));
    assert.equal(ps[0]!.path, path);
    assert.match(ps[0]!.message, message, path);
  }
});

test('weekly and monthly may be 0, daily may not', () => {
  const p = platform((d) => (d.backups = { retention: { daily: 1, weekly: 0, monthly: 0 } }));
  assert.deepEqual(policyOf(p, 'test'), { kind: 'gfs', daily: 1, weekly: 0, monthly: 0 });
});
