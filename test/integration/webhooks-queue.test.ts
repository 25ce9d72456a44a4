// The job queue of `odp serve`, through `serve()` in this process on a real
// state database, over real HTTP: its job runners are injected, plain
// functions that record what ran (the real deploy runs them in
// test/e2e/serve-deploy.test.ts), so coalescing, one job per instance,
// retries, deadlines and publish notices can be watched.
import { branchInstance } from '../../src/state/jobs.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { DockerEngine } from '../../src/engines/docker/engine.js';
import { edgeControl } from '../../src/ops/edge/edge-sync.js';
import { Secret } from '../../src/secret.js';
import { serve, type Serving } from '../../src/server/server.js';
import { RetryLater, type JobRunners } from '../../src/server/worker.js';
import type { Job } from '../../src/state/jobs.js';
import {
  cleanUpServe,
  github,
  jobsOf,
  publishHeaders,
  pushBody,
  request,
  SECRET,
  sha,
  webhookPlatform,
} from '../helpers/serve.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

after(cleanUpServe);

describe('the queue, with injected runners', () => {
  let dir = '';
  let s: Serving;
  const logged: string[] = [];
  const published = new Set<string>();
  const ran: { kind: string; instance: string; sha: unknown }[] = [];
  let active = new Map<string, number>();
  let maxPerInstance = 0;
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  const hold = () => (gate = new Promise((r) => (release = r)));

  const body = async (job: Job) => {
    const n = (active.get(job.instance) ?? 0) + 1;
    active.set(job.instance, n);
    maxPerInstance = Math.max(maxPerInstance, n);
    ran.push({ kind: job.kind, instance: job.instance, sha: job.payload.sha });
    await gate;
    active.set(job.instance, (active.get(job.instance) ?? 1) - 1);
    return `${job.kind} ran`;
  };
  const runners: JobRunners = {
    'deploy-test': async (job) => {
      if (!job.payload.published && !published.has(job.payload.sha as string))
        throw new RetryLater('image not published yet');
      return body(job);
    },
    'deploy-branch': body,
    'remove-branch': body,
  };

  const until = async (what: string, f: () => boolean) => {
    // A deadline, not a count of sleeps: generous for a busy machine, ends on the state.
    for (const end = Date.now() + 120_000; Date.now() < end && !f();) await sleep(50);
    assert.ok(f(), `never: ${what}`);
  };
  const job = (id: unknown) => jobsOf(dir).find((j) => j.id === id)!;
  /** `serve()` on the platform with these runners, giving up on an image after `imageWaitMs`. */
  const start = (imageWaitMs: number) =>
    serve({
      dir,
      host: '127.0.0.1',
      port: 0,
      edge: edgeControl(new DockerEngine()),
      webhookSecret: new Secret(SECRET),
      runners,
      retryEveryMs: 100,
      imageWaitMs,
      log: (line) => logged.push(JSON.stringify(line)),
    });

  before(async () => {
    dir = webhookPlatform();
    s = await start(60_000);
  });
  after(async () => {
    release();
    await s.close();
    assert.ok(logged.some((l) => l.includes('"event":"job-end"')));
    assert.ok(!logged.some((l) => l.includes(SECRET)), 'the secret is never logged');
  });

  test('newer pushes supersede queued ones; one job per instance; other instances run meanwhile', async () => {
    active = new Map();
    hold();
    const [a, b, c] = [sha(), sha(), sha()];
    for (const x of [a, b, c]) published.add(x);
    const first = (await github(s.url, 'push', pushBody('refs/heads/master', a))).json();
    await until('the first job runs', () => ran.some((r) => r.sha === a));
    const second = (await github(s.url, 'push', pushBody('refs/heads/master', b))).json();
    const third = (await github(s.url, 'push', pushBody('refs/heads/master', c))).json();
    const branch = (await github(s.url, 'push', pushBody('refs/heads/feature/x', sha()))).json();
    await until('the branch job runs beside it', () =>
      ran.some((r) => r.instance === branchInstance('feature/x')),
    );
    assert.equal(job((second.jobs as number[])[0]).state, 'superseded');
    assert.match(job((second.jobs as number[])[0]).detail ?? '', /superseded by job #/);
    assert.equal(job((third.jobs as number[])[0]).state, 'queued');
    release();
    await until('the newest push ran', () => job((third.jobs as number[])[0]).state === 'succeeded');
    assert.equal(job((first.jobs as number[])[0]).state, 'succeeded');
    assert.equal(job((branch.jobs as number[])[0]).state, 'succeeded');
    assert.deepEqual(
      ran.filter((r) => r.instance === 'test').map((r) => r.sha),
      [a, c],
    );
    assert.equal(maxPerInstance, 1);
  });

  test('a deleted branch queues its removal; a deleted main branch removes nothing', async () => {
    const r = await github(
      s.url,
      'push',
      pushBody('refs/heads/feature/y', '0'.repeat(40), { deleted: true }),
    );
    assert.equal(r.status, 202);
    await until('removed', () => job((r.json().jobs as number[])[0]).state === 'succeeded');
    assert.equal(job((r.json().jobs as number[])[0]).kind, 'remove-branch');
    const main = await github(
      s.url,
      'push',
      pushBody('refs/heads/master', '0'.repeat(40), { deleted: true }),
    );
    assert.equal(main.json().status, 'ignored');
  });

  test('a push whose image is not published waits, retried, and runs once it is', async () => {
    const x = sha();
    const r = (await github(s.url, 'push', pushBody('refs/heads/master', x))).json();
    const id = (r.jobs as number[])[0];
    await until('tried three times', () => job(id).attempts >= 3);
    assert.equal(job(id).state === 'queued' || job(id).state === 'running', true);
    assert.equal(job(id).detail, 'image not published yet');
    published.add(x);
    await until('ran', () => job(id).state === 'succeeded');
    assert.ok(ran.some((e) => e.sha === x));
  });

  test('a job past its deadline fails, saying why', async () => {
    const short = await start(800);
    try {
      const r = (await github(short.url, 'push', pushBody('refs/heads/master', sha()))).json();
      const id = (r.jobs as number[])[0];
      await until('failed', () => job(id).state === 'failed');
      assert.match(job(id).detail ?? '', /^gave up after \d+ attempts: image not published yet$/);
    } finally {
      await short.close();
    }
  });

  test('a publish notice queues a deploy that does not wait; wrong notices are refused', async () => {
    const rev = sha();
    const notice = (o: Record<string, unknown>, delivery = randomUUID()) => {
      const b = JSON.stringify({
        project: 'neomedical',
        instance: 'test',
        image: pd.image,
        tag: 'latest',
        revision: rev,
        ...o,
      });
      return request(`${s.url}/hooks/publish`, {
        method: 'POST',
        body: b,
        headers: publishHeaders(b, { delivery }),
      });
    };
    const pd = parse(readFileSync(join(dir, 'projects', 'neomedical.yaml'), 'utf8')) as { image: string };
    const delivery = randomUUID();
    const ok = await notice({ image: `127.0.0.1:5000/${pd.image}` }, delivery);
    assert.equal(ok.status, 202, ok.body);
    const id = (ok.json().jobs as number[])[0];
    await until('ran', () => job(id).state === 'succeeded');
    assert.equal(job(id).payload.published, true);
    // `odp publish` never re-sends an id: a re-used one is a replay, refused.
    const again = await notice({ image: `127.0.0.1:5000/${pd.image}` }, delivery);
    assert.equal(again.status, 409, again.body);
    assert.match(again.json().error as string, /used before: refused as a replay/);
    assert.equal((await notice({ project: 'nosuch' })).status, 404);
    assert.equal((await notice({ image: 'other/image' })).status, 400);
    assert.equal((await notice({ revision: 'HEAD' })).status, 400);
    assert.equal((await notice({ instance: 'prod' })).json().status, 'ignored');
    assert.equal((await notice({ tag: '10.0.0' })).json().status, 'ignored');
  });
});
