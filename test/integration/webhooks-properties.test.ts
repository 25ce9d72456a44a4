// Property-based test of the webhook handler (fast-check, seeded; a failure
// prints its seed and path, ODP_FC_SEED=<seed> replays it): `serve()` on
// 127.0.0.1 over a real state database, sent generated requests — any body,
// headers that are right, wrong or missing, signatures valid, invalid or for
// another body, replays of earlier signed bodies under new ids. Each answer is
// one of the handler's documented statuses (never a 500, never a reset), and
// a job is queued only by a request whose signature is valid and whose body
// was never seen before. The runners only record: no Docker here.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { DockerEngine } from '../../src/engines/docker/engine.js';
import { edgeControl } from '../../src/ops/edge/edge-sync.js';
import { Secret } from '../../src/secret.js';
import { serve, type Serving } from '../../src/server/server.js';
import { RetryLater } from '../../src/server/worker.js';
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
  webhookPlatform,
} from '../helpers/serve.js';

const SEED = Number(process.env.ODP_FC_SEED ?? 20261206);
const RUNS = 250;
/** What the hooks answer (README, docs/decisions/0019 and 0035); anything else is a defect. */
const DOCUMENTED = new Set([200, 202, 400, 401, 403, 404, 405, 409, 413, 415]);

let dir = '';
let s: Serving;
const logged: string[] = [];

before(async () => {
  dir = webhookPlatform();
  s = await serve({
    dir,
    host: '127.0.0.1',
    port: 0,
    edge: edgeControl(new DockerEngine()),
    webhookSecret: new Secret(SECRET),
    // A job never runs to the end here: it waits for an image that never comes.
    runners: {
      'deploy-test': () => Promise.reject(new RetryLater('no image in this test')),
      'deploy-branch': () => Promise.reject(new RetryLater('no image in this test')),
      'remove-branch': () => Promise.resolve('removed'),
    },
    retryEveryMs: 60_000,
    bodyLimit: 64 * 1024,
    log: (line) => logged.push(JSON.stringify(line)),
  });
});
after(async () => {
  await s.close();
  cleanUpServe();
});

type Sig = 'valid' | 'none' | 'random' | 'other-body' | 'other-secret';
interface Req {
  path: '/hooks/github' | '/hooks/publish';
  method: string;
  body: Buffer;
  contentType: string | undefined;
  event: string | undefined;
  delivery: string | undefined;
  sig: Sig;
}

const branch = fc.constantFrom('master', 'feature/x', 'a..b', 'fix 1', '');
const validPush = fc
  .tuple(branch, fc.boolean())
  .map(([b, deleted]) => pushBody(`refs/heads/${b}`, deleted ? '0'.repeat(40) : sha(), { deleted }));
const notice = fc
  .record({ project: fc.constantFrom('neomedical', 'nosuch', 'X'), tag: fc.constantFrom('latest', '1.0.0') })
  .map((n) => JSON.stringify({ ...n, instance: 'test', image: 'x', revision: sha() }));
const anyBody = fc.oneof(
  validPush,
  notice,
  fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b).toString('latin1')),
  validPush.chain((p) => fc.nat(p.length).map((n) => p.slice(0, n))),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constant('x'.repeat(70 * 1024)), // over this server's 64 KiB limit
);
const anyReq: fc.Arbitrary<Req> = fc.record({
  path: fc.constantFrom('/hooks/github' as const, '/hooks/publish' as const),
  method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT'),
  body: anyBody.map((b) => Buffer.from(b)),
  contentType: fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/x-www-form-urlencoded',
    'text/plain',
    undefined,
  ),
  event: fc.constantFrom('push', 'create', 'ping', 'issues', 'PUSH', '', undefined),
  delivery: fc.oneof(fc.uuid(), fc.constantFrom('', 'a b', '../x', undefined)),
  sig: fc.constantFrom<Sig>('valid', 'valid', 'none', 'random', 'other-body', 'other-secret'),
});

/** Right in every part but the body's content: what GitHub and `odp publish` send. */
const wellFormed: fc.Arbitrary<Req> = fc
  .tuple(fc.boolean(), validPush, notice, fc.uuid())
  .map(([gh, push, n, delivery]) => ({
    path: gh ? ('/hooks/github' as const) : ('/hooks/publish' as const),
    method: 'POST',
    body: Buffer.from(gh ? push : n),
    contentType: 'application/json',
    event: 'push',
    delivery,
    sig: 'valid' as const,
  }));
const req = fc.oneof({ arbitrary: wellFormed, weight: 1 }, { arbitrary: anyReq, weight: 2 });

function headers(r: Req): Record<string, string> {
  const h: Record<string, string> = {};
  if (r.contentType) h['content-type'] = r.contentType;
  const secret = r.sig === 'other-secret' ? 'not-the-secret' : SECRET;
  const signed = r.sig === 'other-body' ? Buffer.concat([r.body, Buffer.from('x')]) : r.body;
  if (r.path === '/hooks/github') {
    if (r.event !== undefined) h['x-github-event'] = r.event;
    if (r.delivery !== undefined) h['x-github-delivery'] = r.delivery;
    if (r.sig === 'random') h['x-hub-signature-256'] = `sha256=${'ab'.repeat(32)}`;
    else if (r.sig !== 'none') h['x-hub-signature-256'] = signBody(secret, signed);
  } else if (r.sig === 'random') h['x-odp-signature'] = `t=1,id=x,sha256=${'ab'.repeat(32)}`;
  else if (r.sig !== 'none') {
    const id = r.delivery && /^[A-Za-z0-9._:-]{1,128}$/.test(r.delivery) ? r.delivery : randomUUID();
    const p = publishHeaders(signed, { secret, delivery: id });
    h['x-odp-signature'] = p['x-odp-signature']!;
  }
  return h;
}

test('any request gets a documented status, and only a valid signature on a new body queues anything', async () => {
  const seenBodies = new Set<string>();
  const statuses = new Map<number, number>();
  let replays = 0;
  await fc.assert(
    fc.asyncProperty(req, fc.boolean(), async (r, replay) => {
      // Half the time, send a body already sent (signed) before, under a new delivery id.
      if (replay && seenBodies.size && r.path === '/hooks/github' && r.sig === 'valid') {
        r = {
          ...r,
          body: Buffer.from([...seenBodies][seenBodies.size - 1]!, 'base64'),
          delivery: randomUUID(),
        };
        replays++;
      }
      const jobsBefore = jobsOf(dir).length;
      const deliveriesBefore = deliveries(dir);
      const res = await request(`${s.url}${r.path}`, { method: r.method, body: r.body, headers: headers(r) });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      assert.ok(DOCUMENTED.has(res.status), `${res.status} ${res.body}`);
      const queued = jobsOf(dir).length - jobsBefore;
      const valid = r.sig === 'valid' && r.method === 'POST';
      const key = r.body.toString('base64');
      if (!valid) {
        assert.equal(queued, 0, 'queued without a valid signature');
        assert.equal(deliveries(dir), deliveriesBefore, 'recorded without a valid signature');
      }
      if (queued > 0) {
        assert.equal(res.status, 202);
        assert.equal(
          seenBodies.has(key) && r.path === '/hooks/github',
          false,
          'a replayed body queued again',
        );
      }
      if (valid && r.path === '/hooks/github' && res.status < 300) seenBodies.add(key);
    }),
    { seed: SEED, numRuns: RUNS },
  );
  console.log(
    `webhook handler: ${RUNS} cases (seed ${SEED}), ${replays} replays; ${[...statuses]
      .sort(([a], [b]) => a - b)
      .map(([k, n]) => `${n}×${k}`)
      .join(', ')}`,
  );
  // The generator reaches the interesting answers, not only 401s.
  for (const st of [202, 400, 401, 413, 415]) assert.ok(statuses.get(st), `no ${st} in ${RUNS} cases`);
  assert.ok(replays > 0);
  assert.ok(!logged.some((l) => l.includes(SECRET)), 'the secret is never logged');
  assert.equal((await request(`${s.url}/healthz`)).status, 200);
});
