// The provision planner (src/plan/provision.ts): the role before its database,
// CONNECT kept to it after; the bucket and the Redis prefix on their own; no
// secret in the plan.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProvisionPlan, planProvision } from '../../src/plan/provision.js';

const plan = planProvision({
  project: 'shop',
  instance: 'prod',
  role: 'shop_prod',
  database: 'shop_prod',
  server: 'postgres-prod',
  bucket: 'shop-odoo-prod',
  endpoint: 'http://127.0.0.1:9000',
  redisPrefix: 'shop-odoo-prod',
});

test('the role, its database, then CONNECT; bucket and prefix need none of them', () => {
  assert.deepEqual(
    plan.steps.map((s) => [s.id, s.after]),
    [
      ['ensure-role:shop_prod', []],
      ['ensure-database:shop_prod', ['ensure-role:shop_prod']],
      ['restrict-connect:shop_prod', ['ensure-database:shop_prod']],
      ['ensure-bucket:shop-odoo-prod', []],
      ['claim-redis-prefix:shop-odoo-prod', []],
    ],
  );
  assert.deepEqual([plan.operation, plan.project, plan.instance], ['provision', 'shop', 'prod']);
});

test('printed one step a line, and no password anywhere', () => {
  const text = formatProvisionPlan(plan);
  assert.match(text, /^provision shop\/prod: 5 steps$/m);
  assert.match(text, /^ {2}#1 ensure-role shop_prod on postgres-prod: /m);
  assert.match(text, /^ {2}#5 claim-redis-prefix shop-odoo-prod:\*: /m);
  assert.ok(!plan.steps.some((s) => Object.keys(s).some((k) => /password|secret/i.test(k))));
});
