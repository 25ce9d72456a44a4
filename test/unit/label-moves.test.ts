// What a label change moves: the units whose node no longer meets their
// constraints, each with the hosts that do; no other unit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meetsNode } from '../../src/engines/swarm/offline-images.js';
import { planLabelSync, wantedLabels, type ClusterNode } from '../../src/plan/hosts-plan.js';
import {
  dataLeftBehind,
  describeMove,
  labelMoves,
  meets,
  type PlacedUnit,
} from '../../src/plan/label-moves.js';
import type { HostSpec } from '../../src/platform-spec/platform-schema.js';

const hosts = (app2: string[], app1: string[] = ['application', 'production']): Record<string, HostSpec> => ({
  app1: { datacentre: 'dc1', labels: app1 },
  app2: { datacentre: 'dc2', labels: app2 },
  db1: { datacentre: 'dc1', labels: ['database'] },
});

/** The nodes as `hosts sync` left them for `spec`. */
const nodesFor = (spec: Record<string, HostSpec>): ClusterNode[] =>
  Object.entries(spec).map(([name, h]) => ({
    id: `n-${name}`,
    hostname: name,
    addr: '192.0.2.1',
    role: 'worker',
    leader: false,
    state: 'ready',
    availability: 'active',
    labels: { ...wantedLabels(name, h), 'ops.rack': 'r1' },
    version: 3,
  }));

const on = (label: string) => `node.labels.odp.${label}==true`;
const INTEGRATION = [on('application'), on('integration')];
const unit = (
  name: string,
  node: string,
  constraints: string[],
  o: Partial<PlacedUnit> = {},
): PlacedUnit => ({
  unit: name,
  constraints,
  nodeId: `n-${node}`,
  holdsData: false,
  disposable: false,
  ...o,
});

const units: PlacedUnit[] = [
  unit('p-test-odoo-1', 'app2', INTEGRATION, { disposable: true }),
  unit('p-test-db-1', 'app2', INTEGRATION, { disposable: true, holdsData: true }),
  unit('p-prod-odoo-1', 'app1', [on('production'), on('application'), 'node.labels.odp.host==app1']),
  unit('p-prod-odoo-2', 'app2', [on('production'), on('application'), 'node.labels.odp.host==app2']),
  unit('postgres-prod-1', 'db1', ['node.labels.odp.host==db1'], { holdsData: true }),
  // Not running: nothing to move.
  { ...unit('p-integration-odoo-1', 'app2', INTEGRATION), nodeId: undefined },
];

test('constraints on node labels: == and != on the value, a missing label is unequal; others are met', () => {
  const labels = { 'odp.integration': 'true' };
  assert.equal(meets('node.labels.odp.integration==true', labels), true);
  assert.equal(meets('node.labels.odp.integration == true', labels), true);
  assert.equal(meets('node.labels.odp.production==true', labels), false);
  assert.equal(meets('node.labels.odp.production!=true', labels), true);
  assert.equal(meets('node.labels.odp.integration!=true', labels), false);
  assert.equal(meets('node.id==abc', {}), true);
  assert.equal(meets('node.role==manager', {}), true);
});

test('moving the integration label from app2 to app1 moves the test units there, and nothing else', () => {
  const before = hosts(['application', 'production', 'integration']);
  const after = hosts(['application', 'production'], ['application', 'production', 'integration']);
  const nodes = nodesFor(before);
  const changes = planLabelSync(after, nodes);
  assert.deepEqual(changes.map((c) => c.host).sort(), ['app1', 'app2']);
  const moves = labelMoves(units, nodes, changes);
  assert.deepEqual(
    moves.map((m) => [m.unit, m.from, m.to]),
    [
      ['p-test-db-1', 'app2', ['app1']],
      ['p-test-odoo-1', 'app2', ['app1']],
    ],
  );
  assert.deepEqual(moves[0]!.unmet, [on('integration')]);
  // A test instance's database is disposable: not refused, but said.
  assert.deepEqual(dataLeftBehind(moves), []);
  assert.match(describeMove(moves[0]!), /volumes stay on app2 \(a test instance: redeploy it\)/);
});

test('a change no unit depends on moves nothing; a host without the label anywhere leaves a unit nowhere to go', () => {
  const before = hosts(['application', 'production', 'integration']);
  const nodes = nodesFor(before);
  const dc = { ...before, db1: { ...before.db1!, datacentre: 'dc3' } };
  assert.deepEqual(labelMoves(units, nodes, planLabelSync(dc, nodes)), []);
  const none = labelMoves(units, nodes, planLabelSync(hosts(['application', 'production']), nodes));
  assert.deepEqual(
    none.map((m) => [m.unit, m.to]),
    [
      ['p-test-db-1', []],
      ['p-test-odoo-1', []],
    ],
  );
  assert.match(describeMove(none[1]!), /nowhere: no host meets its constraints, it stops/);
});

test("a database's data would be left behind: the move is one that sync refuses", () => {
  // db1 renamed db2 in the spec: its node's odp.host changes under postgres-prod's pin.
  const before = hosts(['application', 'production', 'integration']);
  const nodes = nodesFor(before);
  const { db1, ...rest } = before;
  const renamed = { ...rest, db2: db1! };
  // The server's hostname is db2 now: the spec's db2 is that node.
  const rehosted = nodes.map((n) => (n.id === 'n-db1' ? { ...n, hostname: 'db2', labels: {} } : n));
  const moves = labelMoves(units, nodes, planLabelSync(renamed, rehosted));
  assert.deepEqual(
    dataLeftBehind(moves).map((m) => [m.unit, m.from, m.to]),
    [['postgres-prod-1', 'db1', []]],
  );
});

test('offline images go to the nodes a service may run on: labels, id, hostname and role', () => {
  const n = {
    ID: 'abc',
    Description: { Hostname: 'app2' },
    Spec: { Role: 'worker', Labels: { 'odp.integration': 'true' } },
  };
  assert.equal(meetsNode('node.labels.odp.integration==true', n), true);
  assert.equal(meetsNode('node.labels.odp.production==true', n), false);
  assert.equal(meetsNode('node.id==abc', n), true);
  assert.equal(meetsNode('node.id!=abc', n), false);
  assert.equal(meetsNode('node.hostname==app1', n), false);
  assert.equal(meetsNode('node.role==manager', n), false);
  assert.equal(meetsNode('node.role!=manager', n), true);
});
