// The webhooks of `odp serve`, the real CLI process (spawned on a free port)
// over real HTTP on a real state database: signatures (with the secret from
// platform.env.gpg), replays, ping and ignored events, a push queued and
// waiting for its image, release tags, the read API and `odp jobs`; without a
// webhook secret, the hooks refuse and the server still serves. Malformed
// requests: webhooks-malformed.test.ts; the queue's rules: webhooks-queue.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Job } from '../../src/state/jobs.js';
import { signBody } from '../../src/webhooks/sign.js';
import {
  cleanUpServe,
  deliveries,
  github,
  jobsOf,
  pushBody,
  repository,
  request,
  SECRET,
  sha,
  startServe,
  startWebhookServer,
  stopServe,
  webhookPlatform,
  type ServeProcess,
} from '../helpers/serve.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `odp --dir DIR ARGS`, its stdout. */
function odp(dir: string, args: string[]): Promise<string> {
  return new Promise<string>((resolve) => {
    const c = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'src/cli/run.ts'), '--dir', dir, ...args],
      {
        cwd: repoRoot,
      },
    );
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', () => resolve(out));
  });
}

after(cleanUpServe);

describe('odp serve, the real process', () => {
  let dir = '';
  let server: ServeProcess;

  before(async () => {
    ({ dir, server } = await startWebhookServer());
  });
  after(() => stopServe(server));

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
    assert.match(other.json().reason as string, /repository github.com\/evil\/x matches no project/);
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
    const cli = await odp(dir, ['jobs', '--json']);
    assert.equal((JSON.parse(cli) as { jobs: Job[] }).jobs[0]?.payload.sha, commit);
  });

  test('a GitHub Enterprise push of the same owner/name queues nothing; odp jobs says why', async () => {
    const ghe = readFileSync(join(repoRoot, 'test/fixtures/github/push-enterprise.json'), 'utf8');
    const before = jobsOf(dir).length;
    const r = await github(server.url, 'push', ghe);
    assert.equal(r.status, 202, r.body);
    const reason =
      "repository ghe.example.com/acme/neomedical-odoo matches no project (github.com/acme/neomedical-odoo is neomedical's: another host is another repository)";
    assert.deepEqual(r.json(), { status: 'ignored', reason });
    assert.equal(jobsOf(dir).length, before);
    const text = await odp(dir, ['jobs']);
    assert.ok(text.includes(`ignored: ${reason}`), text);
    const json = JSON.parse(await odp(dir, ['jobs', '--json'])) as {
      ignored: { detail: string; event: string }[];
    };
    assert.deepEqual([json.ignored[0]?.event, json.ignored[0]?.detail], ['push', reason]);
    // The same delivery from github.com is neomedical's: it queues the test deploy.
    const dotcom = ghe
      .replaceAll('ghe.example.com/api/v3', 'api.github.com')
      .replaceAll('ghe.example.com', 'github.com');
    const q = await github(server.url, 'push', dotcom);
    assert.equal(q.status, 202, q.body);
    assert.equal(q.json().status, 'queued');
    assert.equal(jobsOf(dir).length, before + 1);
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
});

test('without a webhook secret the hooks answer 503 and the server still serves', async () => {
  const dir = webhookPlatform();
  const s = await startServe(dir, { env: { ODP_WEBHOOK_SECRET: undefined } });
  try {
    const r = await github(s.url, 'push', pushBody('refs/heads/master', sha()));
    assert.equal(r.status, 503);
    assert.match(r.json().error as string, /no webhook secret/);
    assert.equal((await request(`${s.url}/healthz`)).json().webhooks, 'disabled: no webhook secret');
    assert.equal(jobsOf(dir).length, 0);
  } finally {
    await stopServe(s);
  }
});
