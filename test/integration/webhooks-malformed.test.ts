// `odp serve`, the real CLI process on a free port, under 3,000 malformed
// requests (bad signatures, bodies, events, delivery ids, methods, paths, a
// body over the limit, publish notices wrong in each field): every one is
// answered 4xx, nothing is recorded, and the server keeps serving.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { signBody } from '../../src/webhooks/sign.js';
import {
  cleanUpServe,
  deliveries,
  jobsOf,
  publishHeaders,
  pushBody,
  request,
  SECRET,
  sha,
  startWebhookServer,
  stopServe,
  type RequestOptions,
  type ServeProcess,
} from '../helpers/serve.js';

let dir = '';
let server: ServeProcess;

before(async () => {
  ({ dir, server } = await startWebhookServer());
});
after(async () => {
  await stopServe(server);
  cleanUpServe();
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
      'content-type': 'application/json',
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
      headers: publishHeaders(body),
    };
  };
  const kinds: ((i: number) => [string, RequestOptions])[] = [
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
    (i) => ['/hooks/publish', publishSigned([{ project: 7 }, { instance: null }, {}, { image: [] }][i % 4]!)],
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
