import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  hostRoles,
  hostsReport,
  matchNodes,
  planHostsSync,
  wantedLabels,
  type ClusterNode,
} from '../../src/plan/hosts-plan.js';
import type { HostSpec } from '../../src/platform-spec/platform-schema.js';

const hosts: Record<string, HostSpec> = {
  app1: { address: '10.0.1.11', datacentre: 'dc1', labels: ['application', 'production'] },
  app2: { address: '10.0.2.11', datacentre: 'dc2', labels: ['application', 'production'] },
  db1: { datacentre: 'dc1', labels: ['database'] },
};

function node(id: string, o: Partial<ClusterNode> = {}): ClusterNode {
  return {
    id,
    hostname: id,
    addr: `192.0.2.${id.length}`,
    role: 'worker',
    leader: false,
    state: 'ready',
    availability: 'active',
    labels: {},
    version: 7,
    ...o,
  };
}

test('nodes are matched by their odp.host label first, then hostname, then address; each once', () => {
  const nodes = [
    node('n1', { hostname: 'app1' }), // by hostname, but n3 claims app1 by label
    node('n2', { addr: '10.0.2.11' }),
    node('n3', { labels: { 'odp.host': 'app1' } }),
    node('db1', { labels: { 'odp.host': 'elsewhere' } }), // labelled for another host: not db1
  ];
  const m = matchNodes(hosts, nodes);
  assert.equal(m.get('app1')?.id, 'n3');
  assert.equal(m.get('app2')?.id, 'n2');
  assert.equal(m.get('db1'), undefined);
});

test('the report names every difference and the nodes the spec does not know', () => {
  const nodes = [
    node('app1', { labels: { ...wantedLabels('app1', hosts.app1!), mine: 'x' } }),
    node('app2', {
      state: 'down',
      availability: 'drain',
      labels: { 'odp.host': 'app2', 'odp.datacentre': 'dc1', 'odp.application': 'true', 'odp.old': 'true' },
    }),
    node('stray'),
  ];
  const r = hostsReport(hosts, nodes);
  const by = Object.fromEntries(r.hosts.map((h) => [h.host, h.drift]));
  assert.deepEqual(by.app1, [], 'an operator label is no drift');
  assert.deepEqual(by.app2, [
    'node down',
    'node availability drain',
    'label odp.datacentre is dc1, the spec says dc2',
    'label odp.production=true missing',
    'label odp.old not in the spec',
  ]);
  assert.equal(by.db1?.length, 1);
  assert.match(by.db1![0]!, /no node/);
  assert.deepEqual(
    r.otherNodes.map((n) => n.id),
    ['stray'],
  );
  assert.equal(r.drift, 6);
});

test('sync sets what differs, removes odp labels the spec dropped, keeps the operator’s own', () => {
  const nodes = [
    node('app1', { version: 12, labels: { 'odp.host': 'app1', 'odp.gone': 'true', team: 'blue' } }),
    node('app2', { labels: wantedLabels('app2', hosts.app2!) }),
  ];
  const plan = planHostsSync(hosts, nodes);
  assert.deepEqual(
    plan.steps.map((s) => s.id),
    ['label-node:app1'],
    'app2 is as the spec says; db1 has no node',
  );
  const c = plan.steps[0]!.change;
  assert.equal(c.version, 12);
  assert.deepEqual(c.remove, ['odp.gone']);
  assert.deepEqual(c.labels, {
    team: 'blue',
    'odp.host': 'app1',
    'odp.datacentre': 'dc1',
    'odp.application': 'true',
    'odp.production': 'true',
  });
  assert.match(plan.steps[0]!.cause, /set odp.datacentre=dc1.*remove odp.gone/);
  // Applying the plan's labels leaves nothing to do.
  const after = nodes.map((n) => (n.id === 'app1' ? { ...n, labels: c.labels } : n));
  assert.deepEqual(planHostsSync(hosts, after).steps, []);
});

test('the edge hosts carry odp.edge: a role from the services, not a host label', () => {
  const roles = hostRoles({ services: { edge: { hosts: ['app2'] } } } as never);
  assert.deepEqual(roles, { app2: ['edge'] });
  const plan = planHostsSync(hosts, [node('app1'), node('app2')], roles);
  const labels = Object.fromEntries(plan.steps.map((s) => [s.change.host, s.change.labels]));
  assert.equal(labels.app2?.['odp.edge'], 'true');
  assert.equal(labels.app1?.['odp.edge'], undefined);
  const report = hostsReport(hosts, [node('app2', { labels: wantedLabels('app2', hosts.app2!) })], roles);
  assert.deepEqual(report.hosts.find((h) => h.host === 'app2')?.drift, ['label odp.edge=true missing']);
});
