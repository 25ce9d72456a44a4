// Webhooks and the job queue of `odp serve`, over real HTTP on a real state
// database. First the real CLI process (`odp serve`, spawned on a free port):
// signatures (with the secret from platform.env.gpg), replays, ping and
// ignored events, a push queued and waiting for its image, the read API,
// `odp jobs`, and 3,000 malformed requests all answered 4xx with the server
// still serving. Then the queue's rules through `serve()` in this process,
// whose job runners are injected: here they are plain functions that record
// what ran (the real deploy runs them in test/e2e/serve-deploy.test.ts), so
// coalescing, one job per instance, retries and deadlines can be watched.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { makeDocker } from '../../src/images/docker.js';
import { dockerEdgeControl } from '../../src/ops/edge-sync.js';
import { Secret } from '../../src/secret.js';
import { writeSecrets } from '../../src/secrets/store.js';
import { serve, type Serving } from '../../src/server/server.js';
import { RetryLater, type JobRunners } from '../../src/server/worker.js';
import { openState } from '../../src/state/db.js';
import { deliveryCount, listJobs, type Job } from '../../src/state/jobs.js';
import { signBody } from '../../src/webhooks/sign.js';
import { copyExamplePlatform } from '../helpers/specs.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const PASSPHRASE = 'odp-demo';
const SECRET = randomBytes(24).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp: string[] = [];
// Each platform keeps its state beside it (<dir>/.odp-state): the two parts never share a queue.
delete process.env.ODP_STATE_DIR;
process.env.ODP_PASSPHRASE = PASSPHRASE;

const repository = { full_name: 'acme/neomedical-odoo', html_url: 'https://github.com/acme/neomedical-odoo' };
const sha = () => randomBytes(20).toString('hex');
const pushBody = (ref: string, after: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ ref, after, deleted: false, repository, ...extra });

/** The example platform whose project names its repository and a private image. */
function platformDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'odp-webhooks-'));
  tmp.push(root);
  const dir = join(root, 'platform');
  copyExamplePlatform(dir, { withSecrets: true });
  const file = join(dir, 'projects', 'neomedical.yaml');
  const d = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  d.repository = 'github.com/acme/neomedical-odoo';
  d.image = `odp-it/${randomBytes(4).toString('hex')}_odoo`; // never built: a push waits for it
  writeFileSync(file, stringify(d));
  return dir;
}

interface Reply {
  status: number;
  body: string;
  json: () => Record<string, unknown>;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function request(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer; chunked?: boolean } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: o.method ?? 'GET', headers: o.headers, agent, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          resolve({
            status: res.statusCode ?? 0,
            body,
            json: () => JSON.parse(body) as Record<string, unknown>,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    // A server that answers 413 before the whole body is sent may close while we still write.
    req.on('error', (e) => (req.writableFinished ? reject(e) : undefined));
    if (o.chunked && o.body) {
      const b = Buffer.from(o.body);
      for (let i = 0; i < b.length; i += 64 * 1024) req.write(b.subarray(i, i + 64 * 1024));
      req.end();
    } else req.end(o.body);
  });
}

function github(
  url: string,
  event: string,
  body: string | Buffer,
  o: { secret?: string; delivery?: string; signature?: string } = {},
): Promise<Reply> {
  return request(`${url}/hooks/github`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': o.delivery ?? randomUUID(),
      'x-hub-signature-256': o.signature ?? signBody(o.secret ?? SECRET, body),
    },
  });
}

/** `odp serve` as its own process on a free port; resolves with its URL once it listens. */
function startServer(
  dir: string,
  env: Record<string, string | undefined>,
  args: string[] = [],
): Promise<{ url: string; child: ChildProcess; log: () => string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'src/cli/run.ts'), '--dir', dir, 'serve', '--port', '0', ...args],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"event":"listening","url":"([^"]+)"/.exec(out);
      if (m) resolve({ url: m[1]!, child, log: () => out });
    });
    child.on('exit', (code) => reject(new Error(`odp serve exited (${code}): ${err}${out}`)));
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function jobsOf(dir: string): Job[] {
  const db = openState(dir);
  try {
    return listJobs(db, { limit: 1000 });
  } finally {
    db.close();
  }
}

function deliveries(dir: string): number {
  const db = openState(dir);
  try {
    return deliveryCount(db);
  } finally {
    db.close();
  }
}

after(() => {
  agent.destroy();
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe('odp serve, the real process', () => {
  let dir = '';
  let server: Awaited<ReturnType<typeof startServer>>;

  before(async () => {
    dir = platformDir();
    // The secret from the platform's encrypted secrets file, as in production.
    await writeSecrets(
      join(dir, 'platform.env.gpg'),
      new Map([['WEBHOOK_SECRET', new Secret(SECRET)]]),
      PASSPHRASE,
    );
    server = await startServer(dir, { ODP_WEBHOOK_SECRET: undefined }, ['--retry-every', '1']);
  });
  after(() => stopServer(server.child));

  test('an unsigned or wrongly signed push gets 401 and records nothing', async () => {
    const body = pushBody('refs/heads/master', sha());
    const cases = [
      { signature: '' },
      { signature: 'sha1=0123' },
      { signature: `sha256=${'0'.repeat(64)}` },
      { secret: 'not-the-secret' },
      { signature: signBody(SECRET, `${body} `) },
    ];
    for (const c of cases) {
      const r = await github(server.url, 'push', body, c);
      assert.equal(r.status, 401, JSON.stringify(c));
      assert.match(r.json().error as string, /signature/);
    }
    assert.equal(jobsOf(dir).length, 0);
    assert.equal(deliveries(dir), 0);
    assert.doesNotMatch(server.log(), new RegExp(SECRET));
  });

  test('ping answers pong; an event odp does not use is accepted and ignored', async () => {
    const ping = await github(server.url, 'ping', JSON.stringify({ zen: 'Design for failure.' }));
    assert.equal(ping.status, 200);
    assert.equal(ping.json().status, 'pong');
    const issues = await github(server.url, 'issues', JSON.stringify({ action: 'opened' }));
    assert.equal(issues.status, 202);
    assert.equal(issues.json().status, 'ignored');
    const other = await github(
      server.url,
      'push',
      JSON.stringify({
        ...JSON.parse(pushBody('refs/heads/master', sha())),
        repository: { full_name: 'evil/x', html_url: 'https://github.com/evil/x' },
      }),
    );
    assert.equal(other.status, 202);
    assert.match(other.json().reason as string, /no project has repository evil\/x/);
    assert.equal(jobsOf(dir).length, 0);
  });

  test('a signed push to master queues one deploy-test that waits for its image; a replay does nothing', async () => {
    const commit = sha();
    const delivery = randomUUID();
    const body = pushBody('refs/heads/master', commit);
    const first = await github(server.url, 'push', body, { delivery });
    assert.equal(first.status, 202, first.body);
    assert.equal(first.json().status, 'queued');
    const replay = await github(server.url, 'push', body, { delivery });
    assert.equal(replay.status, 200);
    assert.equal(replay.json().status, 'duplicate');
    const jobs = jobsOf(dir);
    assert.equal(jobs.length, 1);
    assert.deepEqual(
      [jobs[0]!.kind, jobs[0]!.instance, jobs[0]!.payload.sha],
      ['deploy-test', 'test', commit],
    );
    // The image of that commit is never built here: the job is tried, then waits again.
    let job = jobs[0]!;
    while (job.attempts < 2) {
      await sleep(200);
      job = jobsOf(dir)[0]!;
    }
    assert.equal(job.state === 'queued' || job.state === 'running', true, job.state);
    assert.match(job.detail ?? '', /is not there yet/);
    const api = await request(`${server.url}/api/jobs`);
    assert.equal(api.status, 200);
    assert.deepEqual(
      (api.json().jobs as Job[]).map((j) => j.id),
      [job.id],
    );
    const queue = (await request(`${server.url}/healthz`)).json().queue as {
      queued: number;
      running: number;
    };
    assert.equal(queue.queued + queue.running, 1);
    const cli = await new Promise<string>((resolve) => {
      const c = spawn(
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'src/cli/run.ts'), '--dir', dir, 'jobs', '--json'],
        {
          cwd: repoRoot,
        },
      );
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', () => resolve(out));
    });
    assert.equal((JSON.parse(cli) as { jobs: Job[] }).jobs[0]?.payload.sha, commit);
  });

  test('a release tag records a deployable version, shown by the API and the log', async () => {
    const commit = sha();
    const r = await github(
      server.url,
      'push',
      pushBody('refs/tags/10.0.4', commit, { head_commit: { id: commit } }),
    );
    assert.equal(r.status, 200, r.body);
    const created = await github(
      server.url,
      'create',
      JSON.stringify({ ref: '10.0.5', ref_type: 'tag', repository }),
    );
    assert.equal(created.status, 200);
    const v = await request(`${server.url}/api/projects/neomedical/versions`);
    assert.equal(v.status, 200);
    const versions = v.json().versions as { version: string; sha: string | null }[];
    assert.deepEqual(versions.map((x) => [x.version, x.sha]).sort(), [
      ['10.0.4', commit],
      ['10.0.5', null],
    ]);
    assert.equal((await request(`${server.url}/api/projects/nosuch/versions`)).status, 404);
    assert.match(server.log(), /"event":"deployable-version","project":"neomedical","version":"10.0.4"/);
    assert.equal(jobsOf(dir).filter((j) => j.kind !== 'deploy-test').length, 0);
  });

  test('3,000 malformed requests all get 4xx, nothing is recorded, and /healthz still answers', async () => {
    const jobsBefore = jobsOf(dir).length;
    const deliveriesBefore = deliveries(dir);
    const valid = pushBody('refs/heads/master', sha());
    const huge = Buffer.alloc(1024 * 1024 + 10, 0x7b);
    const signed = (body: string | Buffer, event = 'push', headers: Record<string, string> = {}) => ({
      method: 'POST',
      body,
      headers: {
        'x-github-event': event,
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signBody(SECRET, body),
        ...headers,
      },
    });
    /** A signed publish notice that is wrong in `change`. */
    const publishSigned = (change: Record<string, unknown>) => {
      const body = JSON.stringify({
        ...{ project: 'neomedical', instance: 'test', image: 'x', tag: 'latest', revision: sha() },
        ...change,
      });
      return {
        method: 'POST',
        body,
        headers: { 'x-odp-delivery': randomUUID(), 'x-odp-signature-256': signBody(SECRET, body) },
      };
    };
    const kinds: ((i: number) => [string, Parameters<typeof request>[1]])[] = [
      (i) => ['/hooks/github', { method: 'POST', body: randomBytes(i % 300) }],
      (i) => ['/hooks/github', signed(randomBytes(1 + (i % 300)))],
      (i) => ['/hooks/github', signed(valid.slice(0, i % valid.length))],
      (i) => [
        '/hooks/github',
        signed(
          JSON.stringify({
            ...JSON.parse(valid),
            [['ref', 'after', 'repository', 'deleted'][i % 4]!]: [42, null, [], {}, -1.5][i % 5],
          }),
        ),
      ],
      (i) => ['/hooks/github', signed(JSON.stringify([i, 'push']))],
      (i) => ['/hooks/github', signed(valid, ['', 'PUSH', 'push;x', 'p'.repeat(100)][i % 4]!)],
      () => ['/hooks/github', signed(valid, 'push', { 'x-github-delivery': '' })],
      () => ['/hooks/github', signed(valid, 'push', { 'x-github-delivery': 'a b/../c' })],
      (i) => ['/hooks/github', { method: ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'][i % 5]!, body: valid }],
      (i) => [
        '/hooks/publish',
        { method: 'POST', body: valid, headers: { 'x-odp-signature-256': `sha256=${'f'.repeat(i % 64)}` } },
      ],
      (i) => ['/hooks/publish', publishSigned({ revision: 'HEAD'.repeat(i % 3) })],
      (i) => [
        '/hooks/publish',
        publishSigned([{ project: 7 }, { instance: null }, {}, { image: [] }][i % 4]!),
      ],
      (i) => [
        ['/nowhere', '/hooks', '/hooks/github/', '/%%', '/api/jobs?limit=-1', '/api/projects/../versions'][
          i % 6
        ]!,
        { method: 'GET' },
      ],
      (i) => ['/hooks/github', { ...signed(huge), chunked: i % 2 === 0 }],
    ];
    const statuses = new Map<number, number>();
    const total = 3000;
    for (let start = 0; start < total; start += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, total - start) }, async (_, k) => {
          const i = start + k;
          // The huge bodies are a few dozen, not a thousand: they test the limit, not the network.
          const kind = i % kinds.length === kinds.length - 1 && i > 800 ? 0 : i % kinds.length;
          const [path, o] = kinds[kind]!(i);
          const r = await request(`${server.url}${path}`, o);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          assert.ok(r.status >= 400 && r.status < 500, `${path} #${i} (kind ${kind}): ${r.status} ${r.body}`);
        }),
      );
    }
    console.log(`malformed requests: ${[...statuses].map(([s, n]) => `${n}×${s}`).join(', ')}`);
    for (const s of [400, 401, 404, 405, 413]) assert.ok(statuses.get(s), `no ${s} answer`);
    assert.equal(server.child.exitCode, null);
    const health = await request(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.json().status, 'ok');
    assert.equal(jobsOf(dir).length, jobsBefore);
    assert.equal(deliveries(dir), deliveriesBefore);
  });
});

test('without a webhook secret the hooks answer 503 and the server still serves', async () => {
  const dir = platformDir();
  const s = await startServer(dir, { ODP_WEBHOOK_SECRET: undefined });
  try {
    const r = await github(s.url, 'push', pushBody('refs/heads/master', sha()));
    assert.equal(r.status, 503);
    assert.match(r.json().error as string, /no webhook secret/);
    assert.equal((await request(`${s.url}/healthz`)).json().webhooks, 'disabled: no webhook secret');
    assert.equal(jobsOf(dir).length, 0);
  } finally {
    await stopServer(s.child);
  }
});

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
    for (let i = 0; i < 600 && !f(); i++) await sleep(50);
    assert.ok(f(), `never: ${what}`);
  };
  const job = (id: unknown) => jobsOf(dir).find((j) => j.id === id)!;

  before(async () => {
    dir = platformDir();
    s = await serve({
      dir,
      host: '127.0.0.1',
      port: 0,
      edge: dockerEdgeControl(makeDocker()),
      renewEveryMs: 3_600_000,
      webhookSecret: new Secret(SECRET),
      runners,
      retryEveryMs: 100,
      imageWaitMs: 60_000,
      log: (line) => logged.push(JSON.stringify(line)),
    });
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
    await until('the branch job runs beside it', () => ran.some((r) => r.instance === 'test@feature/x'));
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
    const short = await serve({
      dir,
      host: '127.0.0.1',
      port: 0,
      edge: dockerEdgeControl(makeDocker()),
      renewEveryMs: 3_600_000,
      webhookSecret: new Secret(SECRET),
      runners,
      retryEveryMs: 100,
      imageWaitMs: 800,
      log: (line) => logged.push(JSON.stringify(line)),
    });
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
        headers: { 'x-odp-delivery': delivery, 'x-odp-signature-256': signBody(SECRET, b) },
      });
    };
    const pd = parse(readFileSync(join(dir, 'projects', 'neomedical.yaml'), 'utf8')) as { image: string };
    const delivery = randomUUID();
    const ok = await notice({ image: `127.0.0.1:5000/${pd.image}` }, delivery);
    assert.equal(ok.status, 202, ok.body);
    const id = (ok.json().jobs as number[])[0];
    await until('ran', () => job(id).state === 'succeeded');
    assert.equal(job(id).payload.published, true);
    assert.equal(
      (await notice({ image: `127.0.0.1:5000/${pd.image}` }, delivery)).json().status,
      'duplicate',
    );
    assert.equal((await notice({ project: 'nosuch' })).status, 404);
    assert.equal((await notice({ image: 'other/image' })).status, 400);
    assert.equal((await notice({ revision: 'HEAD' })).status, 400);
    assert.equal((await notice({ instance: 'prod' })).json().status, 'ignored');
    assert.equal((await notice({ tag: '10.0.0' })).json().status, 'ignored');
  });
});
