// Issue 6's branch instances end to end, on a real engine, through the real
// edge over HTTPS with certificates from Pebble: a platform of its own
// (embedded S3, the edge on free loopback ports), the project's test instance
// on `latest`, and branch images tagged as `odp publish` tags them
// (`<slug>-<short sha>`), each with its own VERSION. Two branch instances come
// up on their own domains beside the test instance; `odp branches` lists them;
// a dry run and bad input change nothing; removal as the webhook does it, by
// expiry and by `odp destroy --branch` leaves nothing labelled with the branch,
// no route at the edge and no record. Everything is removed in `after`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { branchSlug, branchTarget } from '../../src/compose/branch.js';
import { deployBranch, removeBranch } from '../../src/ops/instance/branches.js';
import { edgeControl } from '../../src/ops/edge/edge-sync.js';
import { platformUp } from '../../src/ops/platform/platform.js';
import type { PlanStep } from '../../src/plan/step.js';
import { silentProgress } from '../../src/progress.js';
import { loadPlatformDir } from '../../src/platformdir/load.js';
import { getBranch } from '../../src/state/branches.js';
import { openState } from '../../src/state/db.js';
import type { OperationRecord } from '../../src/state/history.js';
import { viaEdge as edgeGet, withEdgeAndStorage, type EdgeReply } from '../helpers/edge.js';
import { freePort, startPebble, type PebbleHandle } from '../helpers/pebble.js';
import {
  buildSampleImage,
  cleanUp,
  docker,
  engine,
  execIn,
  makePlatform,
  runCli,
  setUp,
  sleep,
  uniqueName,
  type TestPlatform,
} from './helpers.js';
import { assertRanAsPlanned } from './plan-helpers.js';

let tp: TestPlatform;
let pebble: PebbleHandle;
let httpsPort = 0;
const testDomain = (p: string) => `test.${p}.odp.test`;

// A: deployed through the CLI without --tag (the newest of its two images);
// B: through deployBranch with a tag, as `odp serve` does on a push;
// C: a recent one that expiry keeps, then removed by `odp destroy --branch`.
const A = 'feature/Login-Page';
const B = 'fix-invoices';
const C = 'feature/recent';
const slugA = branchSlug(A);
const tagA1 = `${slugA}-abc1234`;
const tagA2 = `${slugA}-def5678`;
const tagB = `${B}-1234567`;
const domainOf = (branch: string) => `${branchSlug(branch)}.${testDomain(tp.project)}`;

const odp = (args: string[], timeoutMs = 300_000) => runCli(['--dir', tp.dir, ...args], { timeoutMs });
const edge = () => edgeControl(engine);

/** The sample project's image with its own VERSION; the label makes every run's build new. */
const buildImage = (tag: string, version: string) =>
  buildSampleImage(`${tp.image}:${tag}`, { version, dockerfile: `LABEL odp.e2e.build=${tag}` });

before(async () => {
  await setUp();
  const httpPort = await freePort();
  pebble = await startPebble({ httpPort });
  tp = await makePlatform(uniqueName('e2ebr'), { domain: 'odp.test' });
  ({ httpsPort } = await withEdgeAndStorage(tp, { httpPort, acme: pebble }));
  await buildImage('latest', '1.0.0');
  // Two builds of branch A: the newer one is what a deploy without --tag runs.
  await buildImage(tagA1, '2.0.1');
  await buildImage(tagA2, '2.0.2');
  await buildImage(tagB, '3.0.0');
  await platformUp(engine, tp.dir, { progress: silentProgress });
});

after(async () => {
  await pebble?.stop();
  await cleanUp();
});

/** GET through the edge: HTTPS on loopback with the SNI and Host of `domain`; status 0 on error. */
const viaEdge = (domain: string, pathname: string): Promise<EdgeReply> =>
  edgeGet(httpsPort, domain, pathname);

async function versionAt(domain: string): Promise<string> {
  const r = await viaEdge(domain, '/web/version');
  assert.equal(r.status, 200, `${domain}: ${r.body}`);
  return (JSON.parse(r.body) as { version: string }).version;
}

/** The edge's answer for a domain it does not route, once its new configuration is live. */
async function notRouted(domain: string): Promise<EdgeReply> {
  let r = await viaEdge(domain, '/web/health');
  for (let i = 0; i < 40 && r.status !== 404; i++) {
    await sleep(250);
    r = await viaEdge(domain, '/web/health');
  }
  return r;
}

/** What carries `odp.branch=<branch>` on the engine. */
async function labelledWith(branch: string): Promise<string[]> {
  const filters = JSON.stringify({ label: [`odp.branch=${branch}`] });
  const [c, n, v] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return [
    ...c.map((x) => (x.Names[0] ?? x.Id).replace(/^\//, '')),
    ...n.map((x) => `network ${x.Name}`),
    ...(v.Volumes ?? []).map((x) => `volume ${x.Name}`),
  ].sort();
}

/** The branch instance's newest operation, which must be a `kind` that succeeded. */
async function lastOperation(branch: string, kind: string): Promise<OperationRecord> {
  const h = await odp(['history', tp.project, 'test', '--branch', branch, '--json']);
  assert.equal(h.code, 0, h.stderr);
  const [op] = (JSON.parse(h.stdout) as { operations: OperationRecord[] }).operations;
  assert.deepEqual([op?.kind, op?.outcome], [kind, 'succeeded']);
  return op!;
}

async function assertGone(branch: string): Promise<void> {
  assert.deepEqual(await labelledWith(branch), [], `${branch} leaves nothing labelled`);
  const r = await notRouted(domainOf(branch));
  assert.equal(r.status, 404, r.body);
  assert.match(r.body, /no site here/);
  assert.equal(getBranch(tp.dir, tp.project, branch), undefined, 'its record is gone');
}

test('two branch instances beside the test instance, each on its own domain over HTTPS', async () => {
  const main = await odp(['deploy', tp.project, 'test']);
  assert.equal(main.code, 0, main.stderr);

  // Its dry run prints the plan the deploy then runs: the stack's steps, then the edge's.
  const dryA = await odp(['deploy', tp.project, 'test', '--branch', A, '--dry-run', '--json']);
  assert.equal(dryA.code, 0, dryA.stderr);
  const plannedA = (JSON.parse(dryA.stdout) as { planSteps: PlanStep[] }).planSteps;
  assert.ok(plannedA.some((s) => s.id === `wait-routed:${domainOf(A)}`));
  const a = await odp(['deploy', tp.project, 'test', '--branch', A]);
  assert.equal(a.code, 0, a.stderr);
  assertRanAsPlanned(plannedA, (await lastOperation(A, 'deploy')).steps);
  assert.match(a.stdout, new RegExp(`deployed ${tp.project}/test@${slugA} .*tag ${tagA2}`));
  assert.match(a.stdout, new RegExp(`url: +https://${domainOf(A).replace(/\./g, '\\.')}/`));

  const b = await deployBranch(engine, tp.dir, tp.project, B, {
    tag: tagB,
    progress: silentProgress,
    edge: edge(),
  });
  assert.equal(b.applied, true);
  assert.equal(b.domain, domainOf(B));

  // Each domain serves its own image, through the edge, with its own certificate.
  assert.equal(await versionAt(testDomain(tp.project)), '1.0.0');
  assert.equal(await versionAt(domainOf(A)), '2.0.2');
  assert.equal(await versionAt(domainOf(B)), '3.0.0');
  for (const d of [domainOf(A), domainOf(B)]) {
    const r = await viaEdge(d, '/web/health');
    assert.ok(r.cert?.subjectaltname?.includes(`DNS:${d}`), `${d}: ${r.cert?.subjectaltname}`);
    assert.match(String(r.cert?.issuer?.CN ?? ''), /Pebble/i);
  }

  // Its own stack and database, labelled with the branch.
  const spec = (await loadPlatformDir(tp.dir)).projects.get(tp.project)!.spec;
  const target = branchTarget(spec, A);
  assert.deepEqual(
    (await labelledWith(A)).filter((x) => !x.includes(' ')),
    ['db', 'nginx', 'odoo', 'redis'].map((s) => `${target.stackName}-${s}-1`),
  );
  const dbs = await execIn(`${target.stackName}-db-1`, ['psql', '-U', spec.instances.test!.dbUser, '-lqtA']);
  assert.equal(dbs.code, 0, dbs.out);
  assert.match(dbs.out, new RegExp(`^${target.database}\\|`, 'm'));
  // Rebuilt from scratch with the small data set, like the test instance.
  const rows = await execIn(`${target.stackName}-db-1`, [
    'psql',
    '-U',
    spec.instances.test!.dbUser,
    '-d',
    target.database,
    '-tA',
    '-c',
    'SELECT count(*) FROM res_partner',
  ]);
  assert.equal(rows.out.trim(), '25', rows.out);

  // The test instance does not see branch units as its own: a redeploy changes nothing.
  const again = await odp(['deploy', tp.project, 'test']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /is up to date/);
  assert.equal(await versionAt(domainOf(A)), '2.0.2');
});

test('odp branches lists them with their age and last deploy', async () => {
  const r = await odp(['branches', tp.project, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const list = (
    JSON.parse(r.stdout) as {
      branches: { branch: string; domain: string; tag: string; ageSeconds: number; lastDeployAt: string }[];
    }
  ).branches;
  assert.deepEqual(list.map((b) => b.branch).sort(), [A, B].sort());
  const a = list.find((b) => b.branch === A)!;
  assert.equal(a.domain, domainOf(A));
  assert.equal(a.tag, tagA2);
  assert.equal(typeof a.ageSeconds, 'number');
  assert.ok(!Number.isNaN(Date.parse(a.lastDeployAt)));
  const human = await odp(['branches', tp.project]);
  assert.equal(human.code, 0, human.stderr);
  for (const branch of [A, B]) assert.match(human.stdout, new RegExp(`${branch} .*last deploy`));
});

test('a dry run, a branch without an image and --branch on prod change nothing', async () => {
  const dry = await odp([
    'deploy',
    tp.project,
    'test',
    '--branch',
    'feature/dry',
    '--tag',
    tagB,
    '--dry-run',
  ]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /create-network .*-odoo-test-feature-dry-/);
  assert.deepEqual(await labelledWith('feature/dry'), []);
  assert.equal(getBranch(tp.dir, tp.project, 'feature/dry'), undefined);

  const none = await odp(['deploy', tp.project, 'test', '--branch', 'never-built']);
  assert.equal(none.code, 7, none.stderr);
  assert.ok(none.stderr.includes(`${tp.image}:never-built-<short sha>`), none.stderr);
  assert.deepEqual(await labelledWith('never-built'), []);

  const prod = await odp(['deploy', tp.project, 'prod', '--branch', A]);
  assert.equal(prod.code, 2, prod.stderr);
  assert.match(prod.stderr, /--branch is for test/);
});

test('removed as the webhook does on a branch deletion: nothing left, no route, no record', async () => {
  const r = await removeBranch(engine, tp.dir, tp.project, B, { progress: silentProgress, edge: edge() });
  assert.equal(r.removed, true);
  await assertGone(B);
  // The others keep serving; a second deletion is not an error on this path.
  assert.equal(await versionAt(domainOf(A)), '2.0.2');
  assert.equal(await versionAt(testDomain(tp.project)), '1.0.0');
  assert.deepEqual(await removeBranch(engine, tp.dir, tp.project, B, { progress: silentProgress }), {
    removed: false,
    objects: [],
  });
});

test('expiry removes the branch instance not deployed for too long and keeps a recent one', async () => {
  await deployBranch(engine, tp.dir, tp.project, C, { tag: tagB, progress: silentProgress, edge: edge() });
  assert.equal(await versionAt(domainOf(C)), '3.0.0');
  // A was last deployed 100 hours ago (the platform's default limit is 72).
  const db = openState(tp.dir);
  db.prepare('UPDATE branch_instances SET last_deploy_at = ? WHERE project = ? AND branch = ?').run(
    new Date(Date.now() - 100 * 3_600_000).toISOString(),
    tp.project,
    A,
  );
  db.close();

  const dry = await odp(['branches', 'expire', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const planned = JSON.parse(dry.stdout) as {
    expired: { branch: string }[];
    kept: { branch: string }[];
    plans: { steps: PlanStep[] }[];
  };
  assert.equal(planned.plans[0]?.steps[0]?.id, `forget-branch:${A}`);
  assert.deepEqual(
    planned.expired.map((b) => b.branch),
    [A],
  );
  assert.deepEqual(
    planned.kept.map((b) => b.branch),
    [C],
  );
  assert.equal(await versionAt(domainOf(A)), '2.0.2', 'a dry run removes nothing');

  const run = await odp(['branches', 'expire']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /1 removed, 1 kept/);
  await assertGone(A);
  assert.equal(await versionAt(domainOf(C)), '3.0.0');
});

test('odp destroy --branch removes it; an unknown branch is an error there', async () => {
  const unconfirmed = await odp(['destroy', tp.project, 'test', '--branch', C]);
  assert.equal(unconfirmed.code, 2, unconfirmed.stderr);
  assert.equal(await versionAt(domainOf(C)), '3.0.0');

  const dry = await odp(['destroy', tp.project, 'test', '--branch', C, '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const { plan } = JSON.parse(dry.stdout) as { plan: { steps: PlanStep[] } };
  assert.deepEqual(
    plan.steps.slice(0, 4).map((s) => s.kind),
    ['forget-branch', 'write-edge-config', 'check-edge-config', 'reload-edge'],
    'its record and its route go before its units',
  );
  assert.equal(await versionAt(domainOf(C)), '3.0.0', 'a dry run removes nothing');

  const r = await odp(['destroy', tp.project, 'test', '--branch', C, '--yes']);
  assert.equal(r.code, 0, r.stderr);
  await assertGone(C);
  assertRanAsPlanned(plan.steps, (await lastOperation(C, 'destroy')).steps);

  const again = await odp(['destroy', tp.project, 'test', '--branch', C, '--yes']);
  assert.equal(again.code, 7);
  assert.match(again.stderr, /has no instance for branch feature\/recent/);

  // Nothing of any branch is left; the test instance still serves.
  const filters = JSON.stringify({ label: [`odp.project=${tp.project}`, 'odp.branch'] });
  assert.deepEqual(await docker.listContainers({ all: true, filters }), []);
  assert.equal(await versionAt(testDomain(tp.project)), '1.0.0');
});
