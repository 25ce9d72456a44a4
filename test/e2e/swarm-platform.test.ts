// The platform on a real swarm of three engines on this machine
// (swarm-cluster.ts), through the CLI as an operator runs it with `engine:
// swarm`: the shared services on their hosts; a test instance on the
// application+integration host, its nginx sidecar a service of its own beside
// its Odoo and reaching it by name (decision 0072), a worker's tasks reached
// through that node's own engine (0071), routed by the edge; prod's replicas
// one per production host (0073), a first deploy with its migration, an upgrade
// without migration under load through the edge (no failed request), one with
// a migration, a rollback. Two edges (app1, app2), kept in step. Then app2 is
// lost under load through app1's edge, three ways (killed, frozen, cut off), and
// comes back: printed for each, the requests sent and failed, how soon the edge
// stopped sending to it, how soon the cluster had the spec's shape again. Last, a
// label change (integration from app2 to app1) moves the test instance and no other.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { Edge } from '../../src/backends/haproxy/edge.js';
import { sharedUnit } from '../../src/compose/platform.js';
import { dockerAt } from '../../src/engines/docker/client.js';
import { SwarmEngine } from '../../src/engines/swarm/engine.js';
import { slots } from '../../src/ops/release/edge-switch.js';
import { backendName } from '../../src/render/haproxy-cfg.js';
import { SLOW_MACHINE_MS, uniqueName, type Data, type TestPlatform } from './helpers.js';
import type { TestSwarm } from './swarm-cluster.js';
import { swarmPlatform, type SwarmPlatform } from './swarm-fixture.js';
import { SETUP, withVersion } from './upgrade-fixture.js';
import { describe, heal, inflict, report, startLoad, when, type FaultKind } from './node-failure.js';

// The swarm and the platform on it: swarm-fixture.ts (bench/upgrade-under-load.ts sets up the same).
let p: SwarmPlatform | undefined;
let swarm: TestSwarm;
let tp: TestPlatform;
let domain = '';

const odp = (args: string[]) => p!.odp(args);
const node = (host: string) => p!.node(host);
const edge = (pathname: string, to = domain, host = 'app1') => p!.edge(pathname, to, host);

/** The swarm as odp reaches it: the manager, and app2 through its own engine. */
function swarmEngine(): SwarmEngine {
  const url = new URL(swarm.dockerHost);
  return new SwarmEngine(dockerAt(`tcp://${url.hostname}:${url.port}`), swarm.dockerHost, {
    app2: `tcp://${node('app2').ip}:2375`,
  });
}

/** The versions prod answers with through an edge, over enough requests to reach every replica. */
async function served(host = 'app1'): Promise<string[]> {
  // Each request on a connection of its own: the edge balances connections.
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const r = await edge('/web/version', domain, host);
    assert.equal(r.status, 200, r.body);
    seen.add((JSON.parse(r.body) as { version: string }).version);
  }
  return [...seen].sort();
}

/** Each unit of the instance as `service state on host`, from `odp status --json`. */
async function units(instance: string): Promise<string[]> {
  const r = await odp(['status', tp.project, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { instances } = JSON.parse(r.stdout) as {
    instances: { instance: string; services: { name: string; state: string; node?: string }[] }[];
  };
  const inst = instances.find((i) => i.instance === instance)!;
  return inst.services.map((s) => `${s.name} ${s.state} on ${s.node ?? '?'}`).sort();
}

/** Each running prod Odoo unit's host. */
async function odooHosts(): Promise<string[]> {
  return (await units('prod'))
    .filter((u) => u.startsWith('odoo running'))
    .map((u) => u.split(' on ')[1]!)
    .sort();
}

before(async () => {
  p = await swarmPlatform(uniqueName('odp-swp'), uniqueName('swp'), [
    ['1.0.0', SETUP],
    ['1.0.1', SETUP],
    ['1.1.0', withVersion(SETUP, '1.1.0', 'echo migrated-to-1.1.0')],
  ]);
  ({ swarm, tp, domain } = p);
});

after(async () => {
  await p?.remove();
});

test('deploy test: on the application+integration host, the sidecar beside its Odoo and through to it, routed by the edge', async () => {
  const r = await odp(['deploy', tp.project, 'test']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual(await units('test'), [
    'db running on app2',
    'nginx running on app2',
    'odoo running on app2',
    'redis running on app2',
  ]);
  const logs = await odp(['logs', tp.project, 'test', '--tail', '20', '--json', '--level', 'info']);
  assert.equal(logs.code, 0, logs.stderr);
  const lines = logs.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { unit: string; node: string; level?: string });
  assert.ok(lines.length > 0 && lines.every((l) => l.unit === `${tp.stack}-odoo-1` && l.node === 'app2'));
  // Odoo's own lines, read for their level: only info and above pass --level info.
  assert.deepEqual(
    lines.filter((l) => !['info', 'warning', 'error', 'critical'].includes(l.level ?? '')),
    [],
  );

  // Through the sidecar to Odoo from inside the sidecar's task on a worker, reached
  // through app2's own engine: nginx found Odoo by its name.
  const engine = swarmEngine();
  const through = await engine.exec(`${tp.stack}-nginx-1`, [
    'bash',
    '-c',
    `exec 3<>/dev/tcp/127.0.0.1/80 && printf 'GET /web/version HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' >&3 && cat <&3`,
  ]);
  assert.equal(through.exitCode, 0, through.stderr);
  assert.match(through.stdout, /^HTTP\/1\.1 200/);

  // The edge on app1 routes the domain to the sidecar on app2; the sidecar's own rules hold.
  const test = `test.${tp.project}.odoo.example.ch`;
  const version = await edge('/web/version', test);
  assert.equal(version.status, 200, version.body);
  assert.match(version.body, /"version"/);
  assert.equal((await edge('/web/database/manager', test)).status, 403);
});

test('first deploy: the migration job, then one replica on each production host, routed by the edge', async () => {
  const r = await odp(['deploy', tp.project, 'prod', '--version', '1.0.0']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual(await odooHosts(), ['app1', 'app2']);
  assert.deepEqual(await served(), ['1.0.0']);
  // The second edge, on app2, was routed in the same step.
  assert.deepEqual(await served('app2'), ['1.0.0']);
});

test('an upgrade without migration: the new release beside the old one, no failed request through the edge', async (t) => {
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (!stop) {
      const r = await edge('/web/version');
      if (r.status === 200) ok++;
      else failures.push(`${r.status} ${r.body.slice(0, 60)}`);
    }
  })();
  let r;
  try {
    r = await odp(['deploy', tp.project, 'prod', '--version', '1.0.1']);
  } finally {
    stop = true;
    await loop;
  }
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  t.diagnostic(`through the edge during the upgrade: ${ok} answered, ${failures.length} failed`);
  assert.ok(ok > 0);
  assert.deepEqual(failures, []);
  assert.deepEqual(await served(), ['1.0.1']);
  assert.deepEqual(await odooHosts(), ['app1', 'app2']);
});

test('an upgrade with a migration runs it as a job once, then serves the new version; rollback returns', async () => {
  const r = await odp(['deploy', tp.project, 'prod', '--version', '1.1.0']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual(await served(), ['1.1.0']);
  const back = await odp(['rollback', tp.project, 'prod', '--yes']);
  assert.equal(back.code, 0, `${back.stdout}\n${back.stderr}`);
  assert.deepEqual(await served(), ['1.0.1']);
  assert.deepEqual(await odooHosts(), ['app1', 'app2']);
});

/** app1's edge: each slot of prod's backend, with its unit and whether it is UP. */
async function prodSlots(): Promise<{ fqdn: string; up: boolean }[]> {
  const edge1 = new Edge(swarmEngine(), sharedUnit({ name: tp.platform }, 'edge'));
  return slots(await edge1.runtime([`show servers state ${backendName(domain)}`]));
}

/** What specShape saw last that differs from the spec, for the failure's message. */
let shapeSeen = '';

/** The spec's shape: prod's Odoo and sidecar on both hosts, both UP at app1's edge, app2's edge serving. */
async function specShape(): Promise<boolean> {
  shapeSeen = 'odp status failed';
  const all = await units('prod');
  const running = all.filter((u) => / running on /.test(u));
  const on = (service: string) =>
    running
      .filter((u) => u.startsWith(`${service} `))
      .map((u) => u.split(' on ')[1])
      .sort()
      .join(',');
  shapeSeen = `units: ${all.join('; ')}`;
  if (on('odoo') !== 'app1,app2' || on('nginx') !== 'app1,app2') return false;
  const slots = await prodSlots();
  shapeSeen = `app1's edge: ${slots.map((s) => `${s.fqdn} ${s.up ? 'UP' : 'not up'}`).join('; ')}`;
  if (slots.length !== 2 || !slots.every((s) => s.up)) return false;
  const second = await edge('/web/version', domain, 'app2');
  shapeSeen = `app2's edge: ${second.status} ${second.body.slice(0, 80)}`;
  return second.status === 200;
}

/**
 * app2 lost under load through app1's edge, then back. Its Odoo replica is
 * replica 2 (pinned in the spec's host order, 0073). Requests under way on it
 * at the instant of the fault may fail; any other failure is a defect.
 */
async function loseApp2(kind: FaultKind): Promise<string> {
  assert.ok(await when(specShape, SLOW_MACHINE_MS, 1000), 'the platform has its shape before the fault');
  const lostSlot = (await prodSlots()).find((s) => s.fqdn.endsWith('-2'))!.fqdn;
  const shape = { port: node('app1').ports[443]!, domain, timeoutMs: 60_000 };
  const load = startLoad({ ...shape, concurrency: 4, max: 100_000 });
  const t = { fault: 0, faultDone: 0, off: 0, healed: 0, back: 0 };
  try {
    assert.ok(await when(async () => load.okSince(0) >= 40, 60_000), 'the load runs');
    t.fault = Date.now();
    await inflict(kind, node('app2'));
    t.faultDone = Date.now();
    const off = await when(
      async () => !(await prodSlots()).find((s) => s.fqdn === lostSlot)?.up,
      60_000,
      100,
    );
    assert.ok(off, 'the edge takes the lost node out of its rotation');
    t.off = off;
    // New requests go to the other replica now, even while every loop of the load
    // waits on a frozen node's answer: 100 more, sent one after the other.
    const more = await startLoad({ ...shape, concurrency: 1, max: 100 }).done;
    assert.deepEqual(
      more.filter((x) => !x.ok).map((x) => x.detail),
      [],
      'traffic goes on without the node',
    );
    load.sent.push(...more);
    t.healed = Date.now();
    await heal(kind, node('app2'));
    const back = await when(specShape, SLOW_MACHINE_MS * 2, 1000);
    assert.ok(back, `the cluster is back to the spec's shape; last seen: ${shapeSeen}`);
    t.back = back;
  } finally {
    await load.stop();
  }
  const r = report(kind, load.sent, t);
  assert.ok(r.sent > 0);
  assert.deepEqual(
    r.failedAfter.map((s) => `${s.detail} (${s.start - t.faultDone} ms after the fault's call returned)`),
    [],
    'no request sent after the fault fails',
  );
  return describe(r);
}

for (const kind of ['partition', 'pause', 'kill'] as const) {
  test(`app2 ${kind === 'partition' ? 'cut off from the swarm' : kind === 'pause' ? 'frozen' : 'killed'} under load: the edge stops sending to it, the cluster takes its shape again when it returns`, async (t) => {
    t.diagnostic(await loseApp2(kind));
  });
}

/** Each running task of the platform's services: `service@node=task id`. */
async function runningTasks(): Promise<Map<string, string>> {
  const url = new URL(swarm.dockerHost);
  const docker = dockerAt(`tcp://${url.hostname}:${url.port}`);
  const tasks = (await docker.listTasks({ filters: { 'desired-state': ['running'] } })) as {
    ID: string;
    ServiceID: string;
    NodeID?: string;
    Status?: { State?: string };
  }[];
  const services = (await docker.listServices({
    filters: { label: [`odp.platform=${tp.platform}`] },
  })) as { ID: string; Spec?: { Name?: string } }[];
  const name = new Map(services.map((s) => [s.ID, s.Spec?.Name ?? s.ID]));
  return new Map(
    tasks
      .filter((t) => name.has(t.ServiceID) && t.Status?.State === 'running')
      .map((t) => [name.get(t.ServiceID)!, t.ID]),
  );
}

test('a label change moves the units it concerns and no other: integration from app2 to app1', async () => {
  const file = path.join(tp.dir, 'platform.yaml');
  const d = parse(await readFile(file, 'utf8')) as Data;
  d.hosts.app1.labels = ['application', 'production', 'integration'];
  d.hosts.app2.labels = ['application', 'production'];
  await writeFile(file, stringify(d));
  const testUnits = ['db', 'nginx', 'odoo', 'redis'].map((s) => `${tp.stack}-${s}-1`);

  // The dry run says what moves: the test instance's units, from app2 to app1, and no other.
  const dry = await odp(['hosts', 'sync', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const planned = JSON.parse(dry.stdout) as { moves: { unit: string; from: string; to: string[] }[] };
  assert.deepEqual(
    planned.moves.map((m) => `${m.unit} ${m.from}→${m.to.join(',')}`),
    testUnits.map((u) => `${u} app2→app1`),
  );

  const before = await runningTasks();
  const r = await odp(['hosts', 'sync']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const moved = await when(
    async () => (await units('test')).every((u) => / running on app1$/.test(u)),
    SLOW_MACHINE_MS,
    1000,
  );
  assert.ok(moved, `the test instance runs on app1: ${(await units('test')).join('; ')}`);
  // Every other unit kept its task: not restarted, not moved.
  const after = await runningTasks();
  const kept = [...before].filter(([svc]) => !testUnits.includes(svc));
  assert.ok(kept.length >= 8, `prod and the shared services: ${kept.map(([s]) => s).join(', ')}`);
  assert.deepEqual(
    kept.filter(([svc, id]) => after.get(svc) !== id).map(([svc]) => svc),
    [],
    'no other unit was moved or restarted',
  );
  assert.deepEqual(await served(), ['1.0.1']);
  // And the edge reaches the test instance at its new place (its address through DNS).
  const test = `test.${tp.project}.odoo.example.ch`;
  const reached = await when(
    async () => (await edge('/web/version', test)).status === 200,
    SLOW_MACHINE_MS,
    1000,
  );
  assert.ok(reached, 'the edge routes to the moved test instance');
});
