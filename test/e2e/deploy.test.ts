// End to end: `odp deploy PROJECT test` on the real Docker engine (issue 3).
// One stack is deployed and reused by the checks in the order they allow
// (serve, websocket, no-op redeploy, bad tag, new image, concurrent deploys,
// destroy); a second project that never gets healthy deploys alongside, from
// the start. Projects get unique names (unit names carry the project name, not
// the platform's), and everything labelled with them is removed in `after`,
// pass or fail.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import WebSocket from 'ws';
import { deployTest, type DeployResult } from '../../src/ops/instance/deploy-test.js';
import { instanceStatus } from '../../src/ops/instance/instances.js';
import type { PlanStep } from '../../src/plan/step.js';
import { silentProgress } from '../../src/progress.js';
import type { OperationRecord } from '../../src/state/history.js';
import { withInstanceLock } from '../../src/state/lock.js';
import {
  anonymousVolumes,
  buildSampleImage,
  cleanUp,
  engine,
  execIn,
  existingVolumes,
  get,
  labelled,
  makePlatform,
  runCli,
  setUp,
  uniqueName,
  unitIds,
  type CliLine,
  type CliResult,
  type TestPlatform,
} from './helpers.js';
import { assertRanAsPlanned } from './plan-helpers.js';

const HEALTH_TIMEOUT_MS = 180_000;
let main: TestPlatform;
let never: TestPlatform;
/** The never-healthy project's deploy, started in `before` and awaited by its test. */
let neverDeploy: Promise<CliResult>;
/** The main stack's address through its nginx sidecar, from the last deploy. */
let url: string;

const deploy = (p: TestPlatform, tag?: string): Promise<DeployResult> =>
  deployTest(engine, p.dir, p.project, {
    progress: silentProgress,
    healthTimeoutMs: HEALTH_TIMEOUT_MS,
    ...(tag ? { tag } : {}),
  });

const psql = async (p: TestPlatform, sql: string): Promise<string> => {
  const r = await execIn(`${p.stack}-db-1`, ['psql', '-U', 'odoo', '-d', 'odoodb', '-tA', '-c', sql]);
  assert.equal(r.code, 0, r.out);
  return r.out.trim();
};

const version = async (base: string): Promise<string> => {
  const r = await get(`${base}web/version`);
  assert.equal(r.status, 200, r.body);
  return (JSON.parse(r.body) as { version: string }).version;
};

/**
 * The instance is one stack: db, redis, odoo and its nginx, all running and
 * healthy. The deploy saw each one ready through its own probe; Docker 20.10 (no
 * start interval) runs a unit's first steady check 60 s after its start, and
 * until then `odp status` runs the unit's check itself (docs/decisions/0050).
 */
async function assertOneHealthyStack(p: TestPlatform): Promise<void> {
  const [status] = await instanceStatus(engine, p.dir, p.project).then((all) =>
    all.filter((i) => i.instance === 'test'),
  );
  assert.ok(status);
  assert.deepEqual(
    status.services.map((s) => `${s.name}-${s.replica} ${s.state} ${s.health}`),
    ['db-1 running healthy', 'nginx-1 running healthy', 'odoo-1 running healthy', 'redis-1 running healthy'],
  );
  assert.equal(status.state, 'running');
}

before(async () => {
  await setUp();
  main = await makePlatform(uniqueName('e2e'));
  never = await makePlatform(uniqueName('e2e'), {
    change: (d) => (d.instances.test.env = { REF_NEVER_HEALTHY: '1' }),
  });
  await Promise.all([
    buildSampleImage(`${main.image}:latest`, '10.0.1'),
    buildSampleImage(`${never.image}:latest`, '10.0.1'),
  ]);
  // Independent of the main stack: it runs while the first checks do. The deadline covers
  // the database's start on a busy machine too (68 s seen), so only Odoo can miss it.
  neverDeploy = runCli(
    ['-C', never.dir, 'deploy', never.project, 'test', '--health-timeout', '150', '--json'],
    {
      timeoutMs: 600_000,
    },
  );
});

after(async () => {
  await neverDeploy?.catch(() => undefined);
  await cleanUp();
});

test('deploy: nginx serves /web/health and /web/version, and refuses the database manager', async () => {
  const r = await deploy(main);
  assert.equal(r.applied, true);
  assert.ok(r.plan.steps.length > 0);
  assert.match(r.localUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
  url = r.localUrl!;
  assert.equal(r.url, `https://test.${main.project}.odoo.example.ch/`);

  const health = await get(`${url}web/health`);
  assert.equal(health.status, 200, health.body);
  // Answered through the sidecar: nginx's own header and its HSTS header.
  assert.equal(health.headers.server, 'nginx');
  assert.match(String(health.headers['strict-transport-security']), /max-age=31536000/);
  assert.equal(await version(url), '10.0.1');
  const manager = await get(`${url}web/database/manager`);
  assert.equal(manager.status, 403);
  assert.equal((await get(`${url}web/database/list`)).status, 403);
  await assertOneHealthyStack(main);
});

test('a websocket reaches port 8072 through nginx', async () => {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}websocket`, { handshakeTimeout: 10_000 });
  try {
    const echoed = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo within 10 s')), 10_000);
      ws.on('open', () => ws.send('hello through nginx'));
      ws.on('message', (data) => {
        clearTimeout(timer);
        resolve(String(data));
      });
      ws.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    assert.equal(echoed, 'hello through nginx');
  } finally {
    ws.terminate();
  }
});

test('a second deploy with nothing changed changes nothing', async () => {
  const before = await unitIds(main.project);
  assert.equal(Object.keys(before).length, 4);
  const r = await deploy(main);
  assert.equal(r.applied, false);
  assert.equal(r.plan.steps.length, 0);
  assert.match(r.planText, /nothing to do \(4 units up to date\)/);
  assert.equal(r.localUrl, url);
  assert.deepEqual(await unitIds(main.project), before);
});

test('a bad tag fails before anything is removed', async () => {
  const before = await unitIds(main.project);
  const r = await runCli(['-C', main.dir, 'deploy', main.project, 'test', '--tag', 'does-not-exist'], {
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 5, r.stderr);
  assert.ok(r.stderr.includes(`image not found: ${main.image}:does-not-exist`), r.stderr);
  assert.match(r.stderr, /Nothing was changed/);
  assert.deepEqual(await unitIds(main.project), before);
  await assertOneHealthyStack(main);
});

test('a new image recreates the stack and the database starts empty again', async () => {
  const partners = await psql(main, 'SELECT count(*) FROM res_partner');
  // The setup in demo mode loads 25 partners (examples/odoo-project/odoo/migration.yml).
  assert.equal(partners, '25');
  await psql(main, "INSERT INTO res_partner (name) VALUES ('written by the e2e test')");
  assert.equal(await psql(main, 'SELECT count(*) FROM res_partner'), '26');
  const before = await unitIds(main.project);
  const oldAnonymous = await anonymousVolumes(main.project);
  assert.ok(oldAnonymous.length > 0, 'the images declare VOLUMEs');

  await buildSampleImage(`${main.image}:latest`, '10.0.2');
  const r = await deploy(main);
  assert.equal(r.applied, true);
  assert.ok(
    r.plan.steps.some((s) => s.kind === 'remove-volume'),
    r.planText,
  );
  url = r.localUrl!;
  const after = await unitIds(main.project);
  assert.deepEqual(Object.keys(after), Object.keys(before));
  for (const [name, id] of Object.entries(after)) assert.notEqual(id, before[name], `${name} was recreated`);
  // The replaced containers' anonymous volumes went with them.
  assert.deepEqual(await existingVolumes(oldAnonymous), []);

  assert.equal(
    await psql(main, "SELECT count(*) FROM res_partner WHERE name = 'written by the e2e test'"),
    '0',
  );
  assert.equal(await psql(main, 'SELECT count(*) FROM res_partner'), '25');
  assert.equal(await version(url), '10.0.2');
  await assertOneHealthyStack(main);
});

test('a service that never gets healthy fails the deploy with its logs', async () => {
  const r = await neverDeploy;
  assert.equal(r.code, 5, r.stdout + r.stderr);
  const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string; detail?: string } };
  assert.equal(error.code, 'DEPLOY_FAILED');
  assert.match(error.message, new RegExp(`${never.stack}-odoo-1 did not become healthy within 150s`));
  // The container's last log lines: the health probe's requests answered 503.
  assert.match(error.detail ?? '', /GET \/web\/health HTTP\/1\.\d\\?" 503/, error.detail);
});

test('two deploys at once do not interleave: the second waits for the first', async (t) => {
  const key = `${main.project}-test`;
  await t.test('with --no-wait, a deploy of a busy instance stops at once with BUSY', async () => {
    const before = await unitIds(main.project);
    const r = await withInstanceLock(main.dir, key, { wait: false }, () =>
      runCli(['-C', main.dir, 'deploy', main.project, 'test', '--no-wait'], { timeoutMs: 120_000 }),
    );
    assert.equal(r.code, 6, r.stderr);
    assert.ok(r.stderr.includes(`${key} is being changed by pid ${process.pid}`), r.stderr);
    assert.deepEqual(await unitIds(main.project), before);
  });

  // Two tags, both different from what runs: whichever goes second has real work too.
  await buildSampleImage(`${main.image}:e2e-c`, '10.0.3');
  await buildSampleImage(`${main.image}:e2e-d`, '10.0.4');
  const versions: Record<string, string> = { 'e2e-c': '10.0.3', 'e2e-d': '10.0.4' };
  const tags = Object.keys(versions);
  const runs = await Promise.all(
    tags.map((tag) =>
      runCli(['-C', main.dir, 'deploy', main.project, 'test', '--tag', tag], { timeoutMs: 300_000 }),
    ),
  );
  for (const r of runs) assert.equal(r.code, 0, r.stderr);

  // Steps: every progress line inside the lock (pre-flight checks run before it).
  const steps = (r: CliResult): CliLine[] =>
    r.stderrLines.filter(
      (l) =>
        /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] /.test(l.text) &&
        !/pre-flight checks|waiting for pid /.test(l.text),
    );
  const [a, b] = runs.map(steps) as [CliLine[], CliLine[]];
  assert.ok(a.length > 0 && b.length > 0, 'both deploys had steps to run');
  const order = a[0]!.at <= b[0]!.at ? [0, 1] : [1, 0];
  const [first, second] = order.map((i) => runs[i]!) as [CliResult, CliResult];
  const [firstSteps, secondSteps] = order.map((i) => [a, b][i]!) as [CliLine[], CliLine[]];
  const firstEnd = firstSteps[firstSteps.length - 1]!;
  const secondStart = secondSteps[0]!;
  assert.ok(
    firstEnd.at <= secondStart.at,
    `the second deploy started "${secondStart.text}" before the first finished "${firstEnd.text}"`,
  );
  // The second waited on the lock, which named the first as its holder…
  assert.ok(
    second.stderr.includes(`waiting for pid ${first.pid} `),
    `the second deploy waited for pid ${first.pid}:\n${second.stderr}`,
  );
  // …and the lock's record names the second as the last holder.
  const holder = await readFile(path.join(process.env.ODP_STATE_DIR!, 'locks', `${key}.lock.holder`), 'utf8');
  assert.match(holder, new RegExp(`^pid ${second.pid} `));
  for (const r of runs) assert.match(r.stdout, new RegExp(`deployed ${main.project}/test`));

  // One healthy stack, running what the second deployed.
  await assertOneHealthyStack(main);
  assert.equal(Object.keys(await unitIds(main.project)).length, 4);
  const [status] = await instanceStatus(engine, main.dir, main.project);
  const port = status?.services.find((s) => s.name === 'odoo')?.ports[80];
  assert.ok(port, 'odoo publishes the sidecar port');
  url = `http://127.0.0.1:${port}/`;
  assert.equal(await version(url), versions[tags[order[1]!]!]);
});

test('destroy leaves no container, network or volume with the project label', async () => {
  const present = await labelled(main.project);
  assert.equal(present.containers.length, 4);
  assert.deepEqual(present.networks, [main.stack]);
  assert.deepEqual(present.volumes, [`${main.stack}-db`]);
  const anonymous = await anonymousVolumes(main.project);
  const dry = await runCli(['-C', main.dir, 'destroy', main.project, 'test', '--dry-run', '--json'], {
    timeoutMs: 120_000,
  });
  assert.equal(dry.code, 0, dry.stderr);
  const { plan } = JSON.parse(dry.stdout) as { plan: { steps: PlanStep[] } };
  assert.equal(plan.steps[0]?.id, `remove-unit:${main.stack}-nginx-1`, 'the sidecar goes first');
  assert.deepEqual(await labelled(main.project), present, 'a dry run removes nothing');

  const r = await runCli(['-C', main.dir, 'destroy', main.project, 'test', '--yes'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`removed 6 objects of ${main.stack}`));
  assert.deepEqual(await labelled(main.project), { containers: [], networks: [], volumes: [] });
  // Nor the unlabelled volumes Docker made for the images' VOLUMEs.
  assert.deepEqual(await existingVolumes(anonymous), []);
  // Recorded with its plan, each step by kind and id: the dry run's steps.
  const h = await runCli(['-C', main.dir, 'history', main.project, 'test', '--json']);
  const [op] = (JSON.parse(h.stdout) as { operations: OperationRecord[] }).operations;
  assert.deepEqual([op?.kind, op?.outcome], ['destroy', 'succeeded']);
  assertRanAsPlanned(plan.steps, op!.steps);
  assert.deepEqual(
    (op!.plan as { steps: PlanStep[] }).steps.map((s) => s.id),
    plan.steps.map((s) => s.id),
  );
});
