// Where each unit may run on a swarm: the constraints desiredUnits gives every
// unit, from the instance's tier (prod on application+production hosts,
// integration and test on application+integration) or a shared service's host.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { composePlatform } from '../../src/compose/platform.js';
import { composeStack } from '../../src/compose/stack.js';
import type { UnitSpec } from '../../src/engines/engine.js';
import { desiredUnits } from '../../src/plan/plan.js';
import { Secret } from '../../src/secret.js';
import { input, project } from '../helpers/specs.js';

const secrets = new Map([
  ['DB_PASSWORD', new Secret('pw')],
  ['ADMIN_PASSWD', new Secret('admin')],
  ['AWS_ACCESS_KEY_ID', new Secret('a')],
  ['AWS_SECRET_ACCESS_KEY', new Secret('b')],
]);
const units = (inst: 'test' | 'integration' | 'prod'): UnitSpec[] => {
  const stack = composeStack(input().platform, project().spec, inst, secrets).stack;
  return desiredUnits(stack, {});
};
/** Each unit's constraints, by unit (service and replica). */
const constraints = (list: UnitSpec[]) =>
  Object.fromEntries(list.map((u) => [`${u.service.name}-${u.replica}`, u.placement?.constraints]));

const APP = 'node.labels.odp.application==true';

describe('placement constraints', () => {
  test('prod: every unit on the application+production hosts', () => {
    const c = constraints(units('prod'));
    assert.deepEqual(Object.keys(c).sort(), ['nginx-1', 'nginx-2', 'odoo-1', 'odoo-2']);
    for (const v of Object.values(c)) assert.deepEqual(v, ['node.labels.odp.production==true', APP]);
  });

  test('prod on a swarm: one replica per production host, each pinned to its host in the spec’s order', () => {
    const platform = input({ platform: (d) => (d.engine = 'swarm') }).platform;
    const prodHosts = Object.entries(platform.hosts)
      .filter(([, h]) => h.labels.includes('production') && h.labels.includes('application'))
      .map(([name]) => name);
    assert.ok(prodHosts.length >= 2);
    const list = desiredUnits(composeStack(platform, project().spec, 'prod', secrets).stack, {});
    const c = constraints(list);
    for (const [i, host] of prodHosts.entries()) {
      const pinned = ['node.labels.odp.production==true', APP, `node.labels.odp.host==${host}`];
      assert.deepEqual(c[`odoo-${i + 1}`], pinned);
      assert.deepEqual(c[`nginx-${i + 1}`], pinned);
    }
    // The pin is configuration: a replica moved to another host is a replaced unit.
    const moved = input({
      platform: (d) => {
        d.engine = 'swarm';
        const [first, ...rest] = Object.entries(d.hosts as Record<string, unknown>);
        d.hosts = Object.fromEntries([...rest, first!]);
      },
    }).platform;
    const again = desiredUnits(composeStack(moved, project().spec, 'prod', secrets).stack, {});
    const hash = (l: UnitSpec[], n: string) =>
      l.find((u) => `${u.service.name}-${u.replica}` === n)?.configHash;
    assert.notEqual(hash(again, 'odoo-1'), hash(list, 'odoo-1'));
    // One Docker host has no pins, and its hashes do not change for them.
    assert.ok(units('prod').every((u) => !u.placement?.constraints.some((x) => x.includes('odp.host'))));
  });

  test('integration and test (its database and Redis too): on the application+integration hosts', () => {
    for (const inst of ['integration', 'test'] as const) {
      const c = constraints(units(inst));
      assert.ok(Object.keys(c).length >= 2, inst);
      for (const [unit, v] of Object.entries(c))
        assert.deepEqual(v, [APP, 'node.labels.odp.integration==true'], `${inst} ${unit}`);
    }
    assert.ok('db-1' in constraints(units('test')));
  });

  test('shared services: pinned to their host by its odp.host label; the edge on the edge hosts', () => {
    const shared = composePlatform(input().platform, new Map()).stack;
    const c = constraints(desiredUnits(shared, {}));
    assert.deepEqual(c['postgres-prod-1'], ['node.labels.odp.host==db1']);
    assert.deepEqual(c['postgres-replica-1'], ['node.labels.odp.host==db2']);
    assert.deepEqual(c['postgres-integration-1'], ['node.labels.odp.host==db-int']);
    assert.deepEqual(c['redis-prod-1'], ['node.labels.odp.host==app1']);
    assert.deepEqual(c['redis-integration-1'], ['node.labels.odp.host==app-int']);
    const edgeHost = input().platform.services.edge.hosts[0]!;
    assert.deepEqual(c['edge-1'], [`node.labels.odp.host==${edgeHost}`, 'node.labels.odp.edge==true']);
  });

  test('several edge hosts: one edge on each, pinned to it; the first keeps the name edge', () => {
    const platform = input({
      platform: (d) => {
        const services = d.services as { edge: { hosts: string[] } };
        d.engine = 'swarm';
        services.edge.hosts = ['app1', 'app-int'];
      },
    }).platform;
    const shared = composePlatform(platform, new Map()).stack;
    const c = constraints(desiredUnits(shared, {}).filter((u) => u.service.name.startsWith('edge')));
    assert.deepEqual(c, {
      'edge-1': ['node.labels.odp.host==app1', 'node.labels.odp.edge==true'],
      'edge-app-int-1': ['node.labels.odp.host==app-int', 'node.labels.odp.edge==true'],
    });
    // Each keeps its own configuration volume on its own host.
    const volumes = shared.services.filter((s) => s.name.startsWith('edge')).map((s) => s.volumes[0]!.volume);
    assert.equal(new Set(volumes).size, 2);
  });

  test('one Docker engine runs one edge, whatever the edge hosts', () => {
    const platform = input({
      platform: (d) => {
        const services = d.services as { edge: { hosts: string[] } };
        services.edge.hosts = ['app1', 'app-int'];
      },
    }).platform;
    const edges = composePlatform(platform, new Map()).stack.services.filter((s) => s.role === 'nginx');
    assert.deepEqual(
      edges.map((s) => s.name),
      ['edge'],
    );
  });

  test('placement is not part of the configuration hash: one host ignores it', () => {
    const [a] = units('prod');
    const stack = composeStack(input().platform, project().spec, 'prod', secrets).stack;
    const [b] = desiredUnits({ ...stack, instance: 'integration' }, {});
    assert.notDeepEqual(a!.placement, b!.placement);
    assert.equal(a!.configHash, b!.configHash);
  });
});
