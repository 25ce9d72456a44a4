import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { composeStack } from '../../src/compose/stack.js';
import type { Observed, ObservedUnit } from '../../src/engines/engine.js';
import { desiredUnits, formatPlan, planStack } from '../../src/plan/plan.js';
import { Secret } from '../../src/secret.js';
import { input, project } from '../helpers/specs.js';

const secrets = new Map([
  ['DB_PASSWORD', new Secret('pw')],
  ['ADMIN_PASSWD', new Secret('admin')],
  ['AWS_ACCESS_KEY_ID', new Secret('a')],
  ['AWS_SECRET_ACCESS_KEY', new Secret('b')],
]);
const stackOf = (inst: 'test' | 'prod', p = project()) =>
  composeStack(input().platform, p.spec, inst, secrets).stack;
const ids = (stack: ReturnType<typeof stackOf>, id = 'sha256:1') =>
  Object.fromEntries(stack.services.map((s) => [s.image, id]));
const empty: Observed = { units: [], networks: [], volumes: [] };

/** What an engine would observe after the plan ran: every unit running and healthy. */
function observedAfter(stack: ReturnType<typeof stackOf>, imageIds: Record<string, string>): Observed {
  const units: ObservedUnit[] = desiredUnits(stack, imageIds).map((u) => ({
    id: `id-${u.service.name}-${u.replica}`,
    name: `${u.stack}-${u.service.name}-${u.replica}`,
    project: stack.project,
    instance: stack.instance,
    service: u.service.name,
    replica: u.replica,
    release: '',
    configHash: u.configHash,
    image: u.service.image,
    imageId: imageIds[u.service.image] ?? '',
    state: 'running',
    health: 'healthy',
    createdAt: new Date(0),
    ports: {},
  }));
  return { units, networks: [stack.network], volumes: [...stack.volumes] };
}

describe('the test instance', () => {
  const stack = stackOf('test');
  test('first deploy: network, volume, db and redis in parallel, then odoo, then nginx', () => {
    const plan = planStack({ stack, imageIds: ids(stack), observed: empty, freshOnChange: true });
    const kinds = plan.steps.map((s) => s.kind);
    assert.deepEqual(kinds.slice(0, 2), ['create-network', 'create-volume']);
    const run = (svc: string) => plan.steps.find((s) => s.kind === 'run' && s.unit.service.name === svc)!;
    const wait = (svc: string) =>
      plan.steps.find((s) => s.kind === 'wait-healthy' && s.unit.endsWith(`-${svc}-1`))!;
    // db and redis do not wait for each other
    assert.ok(!run('redis').after.includes(wait('db').id));
    // Odoo waits for PostgreSQL itself: it starts once db and redis are started,
    // and the sidecar once Odoo's namespace exists; the deploy waits for all healthy.
    assert.ok(run('odoo').after.includes(run('db').id) && run('odoo').after.includes(run('redis').id));
    assert.ok(!run('odoo').after.includes(wait('db').id));
    assert.ok(run('nginx').after.includes(run('odoo').id));
    assert.equal(plan.steps.filter((s) => s.kind === 'wait-healthy').length, 4);
    // nginx shares odoo's network; its port is published on odoo's unit
    const nginx = run('nginx');
    assert.ok(nginx.kind === 'run' && nginx.unit.sharesNetworkWithUnit === 'neomedical-odoo-test-odoo-1');
    const odoo = run('odoo');
    assert.ok(
      odoo.kind === 'run' &&
        odoo.unit.publish.some((p) => p.container === 80 && p.host === 0 && p.ip === '127.0.0.1'),
    );
  });
  test('each step is named <kind>:<subject>, once, and waits only for steps of its plan', () => {
    const plan = planStack({ stack, imageIds: ids(stack), observed: empty, freshOnChange: true });
    const names = plan.steps.map((s) => s.id);
    assert.equal(new Set(names).size, names.length);
    for (const s of plan.steps) {
      assert.ok(s.id.startsWith(`${s.kind}:`), s.id);
      for (const a of s.after) assert.ok(names.indexOf(a) >= 0 && names.indexOf(a) < names.indexOf(s.id));
    }
    assert.ok(names.includes('run:neomedical-odoo-test-odoo-1'));
    assert.ok(names.includes('create-volume:neomedical-odoo-test-db'));
    assert.match(
      formatPlan(plan),
      /^ {2}#3 run neomedical-odoo-test-db-1 \(odp\/postgres:15\): not running yet {2}after #1, #2$/m,
    );
  });
  test('nothing changed: nothing to do, and it says so', () => {
    const plan = planStack({
      stack,
      imageIds: ids(stack),
      observed: observedAfter(stack, ids(stack)),
      freshOnChange: true,
    });
    assert.equal(plan.steps.length, 0);
    assert.match(formatPlan(plan), /nothing to do \(4 units up to date\)/);
  });
  test('a new image behind the same tag rebuilds everything and wipes the database volume', () => {
    const before = observedAfter(stack, ids(stack));
    const newIds = { ...ids(stack), 'camptocamp/neomedical_odoo:latest': 'sha256:2' };
    const plan = planStack({ stack, imageIds: newIds, observed: before, freshOnChange: true });
    assert.equal(plan.steps.filter((s) => s.kind === 'remove').length, 4);
    const wipe = plan.steps.find((s) => s.kind === 'remove-volume')!;
    const removeDb = plan.steps.find((s) => s.kind === 'remove' && s.unit.endsWith('-db-1'))!;
    assert.ok(wipe.after.includes(removeDb.id), 'the volume goes after the container using it');
    assert.equal(plan.steps.filter((s) => s.kind === 'run').length, 4);
    assert.match(
      formatPlan(plan),
      /run neomedical-odoo-test-odoo-1 \(camptocamp\/neomedical_odoo:latest\): new image behind camptocamp\/neomedical_odoo:latest/,
    );
  });
  test('a stopped unit is restarted', () => {
    const o = observedAfter(stack, ids(stack));
    o.units[0]!.state = 'exited';
    assert.ok(planStack({ stack, imageIds: ids(stack), observed: o, freshOnChange: true }).steps.length > 0);
  });
});

describe('prod (replace only what changed)', () => {
  const stack = stackOf('prod');
  test('two replicas, each with its own sidecar', () => {
    const names = desiredUnits(stack, ids(stack)).map((u) => `${u.service.name}-${u.replica}`);
    assert.deepEqual(names.sort(), ['nginx-1', 'nginx-2', 'odoo-1', 'odoo-2']);
  });
  test('a changed odoo replaces its sidecar too; a stray unit is removed', () => {
    const o = observedAfter(stack, ids(stack));
    o.units.push({ ...o.units[0]!, name: 'neomedical-odoo-prod-odoo-3', replica: 3 });
    const p2 = project((d) => (d.instances.prod.env = { LOG_LEVEL: 'debug' }));
    const changed = stackOf('prod', p2);
    const plan = planStack({ stack: changed, imageIds: ids(changed), observed: o, freshOnChange: false });
    const removed = plan.steps
      .filter((s) => s.kind === 'remove')
      .map((s) => (s.kind === 'remove' ? s.unit : ''));
    assert.ok(removed.includes('neomedical-odoo-prod-odoo-3'));
    assert.equal(plan.steps.filter((s) => s.kind === 'run').length, 4);
    assert.ok(!plan.steps.some((s) => s.kind === 'remove-volume'));
    assert.match(
      formatPlan(plan),
      /run neomedical-odoo-prod-odoo-1 \(camptocamp\/neomedical_odoo:10\.0\.0\): configuration changed/,
    );
  });
});
