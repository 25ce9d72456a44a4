// The removal planner (src/plan/removal.ts): destroy, a branch's removal and
// platform down, from facts to steps, without an engine.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatRemovalPlan,
  planRemoval,
  removedObjects,
  type RemovalFacts,
  type RemovalPlan,
} from '../../src/plan/removal.js';

const stack = 'shop-odoo-test';
const units = ['db', 'nginx', 'odoo', 'redis'].map((service) => ({ name: `${stack}-${service}-1`, service }));
const facts = (f: Partial<RemovalFacts> = {}): RemovalFacts => ({
  operation: 'destroy',
  project: 'shop',
  instance: 'test',
  stack,
  units,
  networks: [stack],
  volumes: [`${stack}-db`],
  ...f,
});
const step = (p: RemovalPlan, id: string) => {
  const s = p.steps.find((x) => x.id === id);
  assert.ok(s, `${id} in ${p.steps.map((x) => x.id).join(', ')}`);
  return s;
};

/** Every plan: ids unique, `<kind>:<subject>`, each waiting only for steps before it. */
function wellFormed(p: RemovalPlan): void {
  const ids = p.steps.map((s) => s.id);
  assert.equal(new Set(ids).size, ids.length);
  p.steps.forEach((s, i) => {
    assert.ok(s.id.startsWith(`${s.kind}:`), s.id);
    for (const a of s.after) assert.ok(ids.indexOf(a) >= 0 && ids.indexOf(a) < i, `${s.id} after ${a}`);
  });
}

describe('destroy', () => {
  test('the sidecar first, then the other units, then the network and the volume', () => {
    const p = planRemoval(facts());
    wellFormed(p);
    assert.deepEqual(step(p, `remove-unit:${stack}-nginx-1`).after, []);
    for (const s of ['db', 'odoo', 'redis'])
      assert.deepEqual(step(p, `remove-unit:${stack}-${s}-1`).after, [`remove-unit:${stack}-nginx-1`]);
    const allUnits = p.steps.filter((s) => s.kind === 'remove-unit').map((s) => s.id);
    assert.deepEqual(step(p, `remove-network:${stack}`).after.sort(), allUnits.sort());
    assert.deepEqual(step(p, `remove-volume:${stack}-db`).after.sort(), allUnits.sort());
    assert.ok(!p.steps.some((s) => s.kind === 'forget-serving' || s.kind === 'forget-branch'));
    assert.deepEqual(removedObjects(p), [
      `${stack}-nginx-1`,
      `${stack}-db-1`,
      `${stack}-odoo-1`,
      `${stack}-redis-1`,
      `network ${stack}`,
      `volume ${stack}-db`,
    ]);
    assert.match(formatRemovalPlan(p), /^destroy shop-odoo-test: 6 steps$/m);
    assert.match(
      formatRemovalPlan(p),
      /^ {2}#1 remove-unit shop-odoo-test-nginx-1: a sidecar goes before its owner$/m,
    );
  });

  test("a pinned instance's recorded route is forgotten once its units are gone", () => {
    const p = planRemoval(facts({ instance: 'prod', serving: ['shop-odoo-prod-odoo-1-0-0-ab12-1'] }));
    wellFormed(p);
    const forget = step(p, 'forget-serving:shop/prod');
    assert.equal(forget.after.length, 4);
    assert.ok(forget.after.every((a) => a.startsWith('remove-unit:')));
    assert.equal(removedObjects(p).length, 6, 'a record is not an engine object');
  });

  test('nothing there: no step, and it says so', () => {
    const p = planRemoval(facts({ units: [], networks: [], volumes: [] }));
    assert.deepEqual(p.steps, []);
    assert.equal(formatRemovalPlan(p), 'destroy shop-odoo-test: nothing to remove');
  });

  test('units are given 10 s to stop unless told otherwise', () => {
    const p = planRemoval(facts());
    assert.ok(p.steps.every((s) => s.kind !== 'remove-unit' || s.stopSeconds === 10));
  });
});

describe("a branch's removal", () => {
  const branch = { branch: 'feature/x', domain: 'feature-x-1a2b3c.test.shop.example', recorded: true };

  test('its record goes, then the edge reloads without its domain, then the units', () => {
    const p = planRemoval(facts({ branch: { ...branch, edgeRunning: true } }));
    wellFormed(p);
    assert.deepEqual(
      p.steps.slice(0, 4).map((s) => s.id),
      [
        'forget-branch:feature/x',
        'write-edge-config:routes',
        'check-edge-config:routes',
        'reload-edge:routes',
      ],
    );
    assert.deepEqual(step(p, `remove-unit:${stack}-nginx-1`).after, ['reload-edge:routes']);
    assert.match(
      formatRemovalPlan(p),
      /#1 forget-branch feature\/x \(feature-x-1a2b3c\.test\.shop\.example\)/,
    );
  });

  test('without an edge running, no reload; without a record, neither', () => {
    const noEdge = planRemoval(facts({ branch: { ...branch, edgeRunning: false } }));
    wellFormed(noEdge);
    assert.ok(!noEdge.steps.some((s) => s.kind === 'reload-edge'));
    assert.deepEqual(step(noEdge, `remove-unit:${stack}-nginx-1`).after, ['forget-branch:feature/x']);
    const unrecorded = planRemoval(facts({ branch: { ...branch, recorded: false, edgeRunning: true } }));
    assert.ok(!unrecorded.steps.some((s) => s.kind === 'forget-branch' || s.kind === 'reload-edge'));
  });

  test('a record with nothing left running is still forgotten', () => {
    const p = planRemoval(
      facts({ units: [], networks: [], volumes: [], branch: { ...branch, edgeRunning: false } }),
    );
    assert.deepEqual(
      p.steps.map((s) => s.id),
      ['forget-branch:feature/x'],
    );
  });
});

test('platform down: its tier networks go only when unused, units get 30 s', () => {
  const p = planRemoval(
    facts({
      operation: 'platform-down',
      project: '_platform',
      instance: '-',
      stack: 'odp-shared',
      units: [{ name: 'odp-shared-postgres-prod-1', service: 'postgres-prod' }],
      networks: [],
      sharedNetworks: ['odp-shared', 'odp-prod'],
      volumes: [],
      stopSeconds: 30,
    }),
  );
  wellFormed(p);
  const net = step(p, 'remove-network:odp-prod');
  assert.ok(net.kind === 'remove-network' && net.ifUnused === true);
  const unit = step(p, 'remove-unit:odp-shared-postgres-prod-1');
  assert.ok(unit.kind === 'remove-unit' && unit.stopSeconds === 30);
});
