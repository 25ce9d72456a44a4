// `odp hosts` on a real swarm of four engines on this machine (swarm-cluster.ts):
// the spec's hosts matched to nodes, drift reported, labels synced without
// touching anything else, a new server joined with the printed command.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import type { HostsReport } from '../../src/plan/hosts-plan.js';
import { execIn, makePlatform, runCli, setUp, uniqueName, type Data, type TestPlatform } from './helpers.js';
import { addServer, startSwarm, type TestSwarm } from './swarm-cluster.js';

let swarm: TestSwarm;
let tp: TestPlatform;
let env: NodeJS.ProcessEnv;
const prefix = uniqueName('odp-swarm');

/** The platform file's data, changed by `edit` and written back. */
async function editPlatform(edit: (d: Data) => void): Promise<void> {
  const file = path.join(tp.dir, 'platform.yaml');
  const d = parse(await readFile(file, 'utf8')) as Data;
  edit(d);
  await writeFile(file, stringify(d));
}

const odp = (args: string[]) => runCli(['-C', tp.dir, ...args], { env });

async function nodeLabels(container: string): Promise<Record<string, string>> {
  const r = await execIn(swarm.nodes[0]!.container, [
    'docker',
    'node',
    'inspect',
    '--format',
    '{{json .Spec.Labels}}',
    container.split('-').pop()!,
  ]);
  assert.equal(r.code, 0, r.out);
  return (JSON.parse(r.out) as Record<string, string> | null) ?? {};
}

async function nodeVersion(hostname: string): Promise<number> {
  const r = await execIn(swarm.nodes[0]!.container, [
    'docker',
    'node',
    'inspect',
    '--format',
    '{{.Version.Index}}',
    hostname,
  ]);
  return Number(r.out.trim());
}

before(async () => {
  await setUp();
  // app1 (the manager) and app2 are found by hostname, db1 by its address.
  swarm = await startSwarm(prefix, ['app1', 'app2', 'node3']);
  env = { DOCKER_HOST: swarm.dockerHost };
  tp = await makePlatform(uniqueName('hosts'));
  await editPlatform((d) => {
    d.engine = 'swarm';
    d.hosts.db1.address = swarm.nodes[2]!.ip;
  });
});

after(async () => {
  await swarm?.remove();
});

test('hosts status: each host with its node, and what differs from the spec', async () => {
  const r = await odp(['hosts', 'status', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const report = JSON.parse(r.stdout) as HostsReport;
  const by = Object.fromEntries(report.hosts.map((h) => [h.host, h]));
  assert.equal(by.app1?.node?.hostname, 'app1');
  assert.equal(by.app1?.node?.role, 'manager');
  assert.equal(by.app1?.node?.leader, true);
  assert.equal(by.app2?.node?.hostname, 'app2');
  assert.equal(by.db1?.node?.hostname, 'node3', 'matched by address');
  assert.equal(by.db1?.node?.state, 'ready');
  assert.ok(by.app1!.drift.includes('label odp.host=app1 missing'), by.app1!.drift.join('; '));
  for (const missing of ['db2', 'app-int', 'db-int']) {
    assert.equal(by[missing]?.node, undefined);
    assert.match(by[missing]!.drift.join(), /no node/);
  }
  const text = await odp(['hosts', 'status']);
  assert.match(text.stdout, /^db1 +dc1 +node3 +\S+ +worker +ready +active$/m);
  assert.match(text.stdout, /drift: label odp.production=true missing/);
});

test('hosts sync: the dry run changes nothing; the run labels each node and keeps the operator’s labels', async () => {
  const manager = swarm.nodes[0]!.container;
  assert.equal(
    (await execIn(manager, ['docker', 'node', 'update', '--label-add', 'team=blue', 'app1'])).code,
    0,
  );
  const dry = await odp(['hosts', 'sync', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const plan = (JSON.parse(dry.stdout) as { plan: { steps: { id: string }[] } }).plan;
  assert.deepEqual(plan.steps.map((s) => s.id).sort(), [
    'label-node:app1',
    'label-node:app2',
    'label-node:db1',
  ]);
  assert.deepEqual(await nodeLabels('app1'), { team: 'blue' }, 'a dry run changes nothing');

  const run = await odp(['hosts', 'sync']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /labelled 3 nodes/);
  // Recorded as an operation on the shared services, step by step.
  const h = await odp(['history', '--platform', '--steps', '--json']);
  assert.equal(h.code, 0, h.stderr);
  const [op] = (
    JSON.parse(h.stdout) as { operations: { kind: string; outcome: string; steps: { id: string }[] }[] }
  ).operations;
  assert.equal(op?.kind, 'hosts-sync');
  assert.equal(op?.outcome, 'succeeded');
  assert.deepEqual(op?.steps.map((s) => s.id).sort(), [
    'label-node:app1',
    'label-node:app2',
    'label-node:db1',
  ]);
  assert.deepEqual(await nodeLabels('app1'), {
    team: 'blue',
    'odp.host': 'app1',
    'odp.datacentre': 'dc1',
    'odp.application': 'true',
    'odp.production': 'true',
    'odp.edge': 'true',
  });
  assert.deepEqual(await nodeLabels('node3'), {
    'odp.host': 'db1',
    'odp.datacentre': 'dc1',
    'odp.database': 'true',
  });
  const status = await odp(['hosts', 'status', '--json']);
  const report = JSON.parse(status.stdout) as HostsReport;
  for (const h of report.hosts.filter((x) => x.node)) assert.deepEqual(h.drift, [], h.host);

  // Once labelled, a node is its host by label, whatever its address: db1's address may go.
  await editPlatform((d) => {
    delete d.hosts.db1.address;
    d.hosts.app2.labels = ['application'];
  });
  const app1 = await nodeVersion('app1');
  const dropped = await odp(['hosts', 'status', '--json']);
  const app2 = (JSON.parse(dropped.stdout) as HostsReport).hosts.find((h) => h.host === 'app2')!;
  assert.deepEqual(app2.drift, ['label odp.production not in the spec']);
  assert.equal(
    (JSON.parse(dropped.stdout) as HostsReport).hosts.find((h) => h.host === 'db1')?.node?.hostname,
    'node3',
  );
  const again = await odp(['hosts', 'sync', '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    (JSON.parse(again.stdout) as { plan: { steps: { id: string; cause: string }[] } }).plan.steps.map((s) => [
      s.id,
      s.cause,
    ]),
    [['label-node:app2', 'remove odp.production']],
  );
  assert.equal(await nodeVersion('app1'), app1, 'a node as the spec says is not touched');
  assert.equal((await nodeLabels('app2'))['odp.production'], undefined);
  const idle = await odp(['hosts', 'sync']);
  assert.match(idle.stdout, /every node carries its host labels already/);
});

test('hosts join-command: the printed command joins a new server, which status then lists', async () => {
  const r = await odp(['hosts', 'join-command', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const join = JSON.parse(r.stdout) as { command: string; managers: string[] };
  assert.equal(join.managers[0], `${swarm.nodes[0]!.ip}:2377`);
  assert.match(join.command, /^docker swarm join --token SWMTKN-\S+ \S+:2377$/);
  // A fourth server, as an operator would add one.
  const server = await addServer(swarm, prefix, 'node4');
  const joined = await execIn(server.container, ['sh', '-c', join.command]);
  assert.equal(joined.code, 0, joined.out);
  const status = await odp(['hosts', 'status', '--json']);
  const report = JSON.parse(status.stdout) as HostsReport;
  assert.deepEqual(
    report.otherNodes.map((n) => n.hostname),
    ['node4'],
  );
});

test('hosts commands on a one-host platform say there is no cluster', async () => {
  await editPlatform((d) => {
    d.engine = 'docker';
  });
  const r = await odp(['hosts', 'status']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /engine docker runs on one host/);
  assert.match(r.stderr, /platform\.yaml:\d+/);
});
