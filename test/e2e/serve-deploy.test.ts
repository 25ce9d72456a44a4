// Issue 6's automatic test deploys, end to end: the real `odp serve` process
// (spawned on a free port) receives signed GitHub pushes and redeploys the
// test instance on the real engine with the image of the pushed commit (its
// `org.opencontainers.image.revision` label). An unsigned or wrongly signed
// push and a replayed delivery change nothing; a push whose image is not
// built yet waits and runs once it is; the queue survives the server being
// killed, whether the job was waiting or in the middle of its deploy. A pushed
// branch gets its own instance once its image is published; deleting the branch
// removes it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { branchTag } from '../../src/compose/branch.js';
import { openState } from '../../src/state/db.js';
import { deliveryCount, getJob, listJobs, type Job } from '../../src/state/jobs.js';
import { signBody } from '../../src/webhooks/sign.js';
import {
  cleanUpServe,
  github,
  SECRET,
  sha,
  startServe,
  stopServe,
  type ServeProcess,
} from '../helpers/serve.js';
import {
  buildSampleImage,
  cleanUp,
  docker,
  makePlatform,
  runCli,
  setUp,
  sleep,
  uniqueName,
  unitIds,
  type TestPlatform,
} from './helpers.js';

let tp: TestPlatform;
let repo = '';
let server: ServeProcess | undefined;

const odp = (args: string[], timeoutMs = 600_000) => runCli(['--dir', tp.dir, ...args], { timeoutMs });

/** `<tp.image>:<tag>` built from the sample project, labelled as the build of `revision`. */
const buildLatest = (revision: string, tag = 'latest') =>
  buildSampleImage(`${tp.image}:${tag}`, {
    dockerfile: `LABEL org.opencontainers.image.revision=${revision}`,
  });

const startServer = () =>
  startServe(tp.dir, {
    env: { ODP_WEBHOOK_SECRET: SECRET, ODP_ACTOR: undefined },
    args: ['--retry-every', '1'],
  });

async function kill(signal: NodeJS.Signals): Promise<void> {
  const s = server;
  server = undefined;
  if (s) await stopServe(s, signal);
}

async function push(
  commit: string,
  o: { delivery?: string; signature?: string; ref?: string; deleted?: boolean } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = JSON.stringify({
    ref: o.ref ?? 'refs/heads/master',
    before: '0'.repeat(40),
    after: commit,
    deleted: o.deleted ?? false,
    head_commit: { id: commit },
    repository: { full_name: repo, html_url: `https://github.com/${repo}` },
  });
  const r = await github(server!.url, 'push', body, { delivery: o.delivery, signature: o.signature });
  return { status: r.status, body: r.json() };
}

/** Straight from the state database: readable while no server runs. */
function state<T>(f: (db: ReturnType<typeof openState>) => T): T {
  const db = openState(tp.dir);
  try {
    return f(db);
  } finally {
    db.close();
  }
}
const job = (id: number): Job => state((db) => getJob(db, id)!);

async function until(what: string, f: () => boolean | Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > deadline)
      assert.fail(`never: ${what}; server log:\n${server?.log().slice(-3000) ?? ''}`);
    await sleep(250);
  }
}

/** The odoo unit's container: its id and the id of the image it runs. */
async function odoo(): Promise<{ id: string; image: string; revision: string | undefined }> {
  const info = await docker.getContainer(`${tp.stack}-odoo-1`).inspect();
  const image = await docker.getImage(info.Image).inspect();
  return {
    id: info.Id,
    image: info.Image,
    revision: image.Config.Labels?.['org.opencontainers.image.revision'],
  };
}

async function latestImageId(): Promise<string> {
  return (await docker.getImage(`${tp.image}:latest`).inspect()).Id;
}

before(async () => {
  await setUp();
  const project = uniqueName('e2esrv');
  repo = `acme/${project}-odoo`;
  tp = await makePlatform(project, { change: (d) => (d.repository = `github.com/${repo}`) });
  const first = sha();
  await buildLatest(first);
  const deploy = await odp(['deploy', project, 'test']);
  assert.equal(deploy.code, 0, deploy.stderr);
  assert.equal((await odoo()).revision, first);
  server = await startServer();
});

after(async () => {
  await kill('SIGTERM');
  cleanUpServe();
  await cleanUp();
});

test('a signed push to master redeploys the test instance with the image of that commit', async () => {
  const before = await odoo();
  const commit = sha();
  await buildLatest(commit);
  const r = await push(commit);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const id = (r.body.jobs as number[])[0]!;
  await until('the deploy job ends', () => ['succeeded', 'failed'].includes(job(id).state));
  assert.equal(job(id).state, 'succeeded', job(id).detail ?? '');
  assert.match(job(id).detail ?? '', new RegExp(`deployed ${tp.project}/test at ${commit.slice(0, 12)}`));
  const now = await odoo();
  assert.notEqual(now.image, before.image);
  assert.equal(now.image, await latestImageId());
  assert.equal(now.revision, commit);
  const h = await odp(['history', tp.project, 'test', '--json']);
  const [op] = (JSON.parse(h.stdout) as { operations: { kind: string; actor: string; outcome: string }[] })
    .operations;
  assert.deepEqual([op?.kind, op?.actor, op?.outcome], ['deploy', 'odp serve', 'succeeded']);
  const api = (await (await fetch(`${server!.url}/api/jobs`)).json()) as { jobs: Job[] };
  assert.equal(api.jobs.find((j) => j.id === id)?.state, 'succeeded');
});

test('an unsigned or wrongly signed push gets 401 and changes nothing; a replay is ignored', async () => {
  const units = await unitIds(tp.project);
  const count = () =>
    state((db) => ({ jobs: listJobs(db, { limit: 1000 }).length, deliveries: deliveryCount(db) }));
  const before = count();
  const commit = sha();
  await buildLatest(commit); // published: a push that got through would deploy it at once
  const body = JSON.stringify({ ref: 'refs/heads/master', after: commit });
  for (const signature of ['', 'sha1=abc', `sha256=${'0'.repeat(64)}`, signBody('not-the-secret', body)]) {
    const r = await push(commit, { signature });
    assert.equal(r.status, 401);
  }
  await sleep(3000); // the worker looks at the queue every second: time to act on anything queued
  assert.deepEqual(count(), before);
  assert.deepEqual(await unitIds(tp.project), units);

  const delivery = randomUUID();
  const first = await push(commit, { delivery });
  assert.equal(first.status, 202);
  const id = (first.body.jobs as number[])[0]!;
  await until('the job ends', () => ['succeeded', 'failed'].includes(job(id).state));
  assert.equal(job(id).state, 'succeeded', job(id).detail ?? '');
  const redeployed = await unitIds(tp.project);
  assert.notDeepEqual(redeployed, units);
  const replay = await push(commit, { delivery });
  assert.deepEqual([replay.status, replay.body.status], [200, 'duplicate']);
  await sleep(3000);
  assert.deepEqual(count(), { jobs: before.jobs + 1, deliveries: before.deliveries + 1 });
  assert.deepEqual(await unitIds(tp.project), redeployed);
});

test('a push whose image is not published yet waits, then deploys once the image appears', async () => {
  const before = await odoo();
  const commit = sha();
  const r = await push(commit);
  const id = (r.body.jobs as number[])[0]!;
  await until('tried twice', () => job(id).attempts >= 2);
  assert.equal(['queued', 'running'].includes(job(id).state), true, job(id).state);
  assert.match(job(id).detail ?? '', new RegExp(`waiting for ${commit.slice(0, 12)}`));
  assert.equal((await odoo()).id, before.id, 'nothing redeployed meanwhile');
  await buildLatest(commit);
  await until('the deploy job ends', () => ['succeeded', 'failed'].includes(job(id).state));
  assert.equal(job(id).state, 'succeeded', job(id).detail ?? '');
  assert.equal((await odoo()).revision, commit);
});

test('the queue survives a killed server: a waiting job runs after the restart', async () => {
  const commit = sha();
  const r = await push(commit);
  const id = (r.body.jobs as number[])[0]!;
  await until('tried once', () => job(id).attempts >= 1);
  await kill('SIGKILL');
  await buildLatest(commit);
  assert.equal(['queued', 'running'].includes(job(id).state), true, job(id).state);
  server = await startServer();
  await until('the deploy job ends', () => ['succeeded', 'failed'].includes(job(id).state));
  assert.equal(job(id).state, 'succeeded', job(id).detail ?? '');
  assert.equal((await odoo()).revision, commit);
});

test('a server killed in the middle of a deploy: the job is queued again at start and completes', async () => {
  const commit = sha();
  await buildLatest(commit);
  const r = await push(commit);
  const id = (r.body.jobs as number[])[0]!;
  // Its deploy under way: the plan's steps are changing containers.
  const applying = new RegExp(`"job":${id},[^\\n]*"event":"step","step":"(remove|start) `);
  await until('the deploy is applying its plan', () => applying.test(server!.log()));
  await kill('SIGKILL');
  assert.equal(job(id).state, 'running');
  server = await startServer();
  await until('the deploy job ends', () => ['succeeded', 'failed'].includes(job(id).state));
  assert.equal(job(id).state, 'succeeded', job(id).detail ?? '');
  assert.ok(job(id).attempts >= 2, `attempts ${job(id).attempts}`);
  assert.match(server.log(), new RegExp(`"event":"jobs-requeued","jobs":\\[${id}\\]`));
  assert.equal((await odoo()).revision, commit);
  const h = await odp(['history', tp.project, 'test', '--json']);
  const ops = (JSON.parse(h.stdout) as { operations: { outcome: string }[] }).operations;
  assert.deepEqual(
    ops.slice(0, 2).map((o) => o.outcome),
    ['succeeded', 'interrupted'],
  );
});

test('a pushed branch gets its own instance once its image is published; deleting the branch removes it', async () => {
  const branch = 'feature/serve-hook';
  const commit = sha();
  const labelled = async () =>
    (
      await docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`odp.project=${tp.project}`, `odp.branch=${branch}`] }),
      })
    ).length;
  const r = await push(commit, { ref: `refs/heads/${branch}` });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const id = (r.body.jobs as number[])[0]!;
  await until('tried once', () => job(id).attempts >= 1);
  assert.equal(await labelled(), 0, 'nothing deployed before the image is published');
  await buildLatest(commit, branchTag(branch, commit));
  await until('the branch deploy ends', () => ['succeeded', 'failed'].includes(job(id).state));
  assert.equal(job(id).state, 'succeeded', job(id).detail ?? '');
  assert.match(job(id).detail ?? '', /deployed .*test@feature\/serve-hook/);
  assert.ok((await labelled()) >= 2, 'the branch instance runs');
  const h = await odp(['history', tp.project, 'test', '--branch', branch, '--json']);
  const [op] = (JSON.parse(h.stdout) as { operations: { kind: string; outcome: string }[] }).operations;
  assert.deepEqual(
    [op?.kind, op?.outcome],
    ['deploy', 'succeeded'],
    "recorded in the branch instance's history",
  );
  const listed = await odp(['branches', tp.project, '--json']);
  assert.match(listed.stdout, /feature\/serve-hook/);

  const gone = await push('0'.repeat(40), { ref: `refs/heads/${branch}`, deleted: true });
  assert.equal(gone.status, 202, JSON.stringify(gone.body));
  const rid = (gone.body.jobs as number[])[0]!;
  await until('the removal ends', () => ['succeeded', 'failed'].includes(job(rid).state));
  assert.equal(job(rid).state, 'succeeded', job(rid).detail ?? '');
  assert.equal(await labelled(), 0, 'nothing of the branch is left');
  const after = await odp(['branches', tp.project, '--json']);
  assert.doesNotMatch(after.stdout, /feature\/serve-hook/);
});
