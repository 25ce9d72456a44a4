// `odp serve`, the real CLI process on 127.0.0.1, under hostile traffic (issue
// 16): bad signatures, the same signed push replayed under its id and under
// new ids, publish notices replayed, stale or signed the old way, bodies over
// the limit (a 413 the client reads, not a reset), slow clients that never
// finish their headers or body (timed out by the server), malformed JSON and
// wrong content types. Each gets its status, /healthz answers all along, and
// the one valid push is queued once. Bounded: a few hundred requests, and
// every wait is a poll with a deadline.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { signBody } from '../../src/webhooks/sign.js';
import {
  cleanUpServe,
  deliveries,
  github,
  jobsOf,
  publishHeaders,
  pushBody,
  request,
  SECRET,
  sha,
  startWebhookServer,
  stopServe,
  type ServeProcess,
} from '../helpers/serve.js';

const REQUEST_TIMEOUT_S = 2;
let dir = '';
let server: ServeProcess;
let port = 0;

before(async () => {
  ({ dir, server } = await startWebhookServer(['--request-timeout', String(REQUEST_TIMEOUT_S)]));
  port = Number(new URL(server.url).port);
});
after(async () => {
  await stopServe(server);
  cleanUpServe();
});

interface RawAnswer {
  /** The status line's code, 0 when none came. */
  status: number;
  /** The socket error the client saw (ECONNRESET…), if any. */
  error?: string;
  text: string;
}

/**
 * One request on a raw socket: `head` then `body` written whole (a real client
 * that sends its body before it reads); the answer read until the server closes.
 */
function raw(head: string, body: Buffer = Buffer.alloc(0), deadlineMs = 30_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    let error: string | undefined;
    const timer = setTimeout(() => sock.destroy(new Error('client deadline')), deadlineMs);
    sock.on('data', (c: Buffer) => (text += c.toString('latin1')));
    sock.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    sock.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text, ...(error ? { error } : {}) });
    });
    sock.write(head);
    sock.end(body);
  });
}

function signedHead(body: Buffer, extra = ''): string {
  return (
    `POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `X-GitHub-Event: push\r\nX-GitHub-Delivery: ${randomUUID()}\r\n` +
    `X-Hub-Signature-256: ${signBody(SECRET, body)}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n${extra}\r\n`
  );
}

/** Polls `/healthz` until stopped; resolves with the statuses seen (0: no answer). */
function healthWatch(): { stop: () => Promise<number[]> } {
  let running = true;
  const seen: number[] = [];
  const loop = (async () => {
    while (running) {
      seen.push(
        await request(`${server.url}/healthz`).then(
          (r) => r.status,
          () => 0,
        ),
      );
      await new Promise((res) => setImmediate(res));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

test('hostile traffic: each gets its status, /healthz answers throughout, the valid push is queued once', async () => {
  const health = healthWatch();
  const jobsBefore = jobsOf(dir).length;

  // The one valid push, then replays: same id, then the same body under new ids.
  const body = pushBody('refs/heads/master', sha());
  const delivery = randomUUID();
  const first = await github(server.url, 'push', body, { delivery });
  assert.equal(first.status, 202, first.body);
  const sameId = await github(server.url, 'push', body, { delivery });
  assert.deepEqual([sameId.status, sameId.json().status], [200, 'duplicate']);
  const replays = await Promise.all(Array.from({ length: 20 }, () => github(server.url, 'push', body)));
  for (const r of replays) {
    assert.deepEqual([r.status, r.json().status], [200, 'duplicate'], r.body);
    assert.equal(r.json().why, `same body as delivery ${delivery}`);
  }

  // Bad signatures: none, wrong secret, another body's, the body re-serialised.
  const bad = await Promise.all([
    github(server.url, 'push', body, { signature: '' }),
    github(server.url, 'push', body, { secret: 'guess' }),
    github(server.url, 'push', body, { signature: signBody(SECRET, `${body}\n`) }),
    github(server.url, 'push', JSON.stringify(JSON.parse(body), null, 1), {
      signature: signBody(SECRET, body),
    }),
  ]);
  assert.deepEqual(
    bad.map((r) => r.status),
    [401, 401, 401, 401],
  );

  // Publish notices: replayed id, stale, from the future, the old body-only signature.
  const image = (parse(readFileSync(join(dir, 'projects', 'neomedical.yaml'), 'utf8')) as { image: string })
    .image;
  const notice = JSON.stringify({
    project: 'neomedical',
    instance: 'prod',
    image,
    tag: 'latest',
    revision: sha(),
  });
  const publish = (headers: Record<string, string>) =>
    request(`${server.url}/hooks/publish`, { method: 'POST', body: notice, headers });
  const id = randomUUID();
  assert.equal((await publish(publishHeaders(notice, { delivery: id }))).status, 202);
  const replayed = await publish(publishHeaders(notice, { delivery: id }));
  assert.equal(replayed.status, 409, replayed.body);
  const stale = await publish(publishHeaders(notice, { atMs: Date.now() - 10 * 60_000 }));
  assert.equal(stale.status, 403, stale.body);
  assert.match(stale.json().error as string, /signed 60\d s ago, outside the 300 s window/);
  assert.equal((await publish(publishHeaders(notice, { atMs: Date.now() + 10 * 60_000 }))).status, 403);
  const old = await publish({
    'content-type': 'application/json',
    'x-odp-signature-256': signBody(SECRET, notice),
  });
  assert.equal(old.status, 401);
  assert.match(old.json().error as string, /update odp publish/);

  // Malformed JSON and wrong content types, signed.
  for (const b of ['{"ref": "refs/heads/master",', 'null', '[]', '\u0000\u00ff']) {
    const r = await github(server.url, 'push', b);
    assert.equal(r.status, 400, `${JSON.stringify(b)}: ${r.body}`);
  }
  for (const type of ['application/x-www-form-urlencoded', 'text/plain', '']) {
    const b = Buffer.from(pushBody('refs/heads/master', sha()));
    const r = await raw(signedHead(b).replace('Content-Type: application/json', `Content-Type: ${type}`), b);
    assert.equal(r.status, 415, r.text);
  }

  // Oversize bodies, sent whole before reading: the client reads its 413, no reset.
  for (const size of [1024 * 1024 + 1, 3 * 1024 * 1024]) {
    const huge = Buffer.alloc(size, 0x20);
    const r = await raw(signedHead(huge), huge);
    assert.equal(r.status, 413, `${size} bytes: ${r.error ?? ''} ${r.text.slice(0, 200)}`);
    assert.match(r.text, /the body is over 1048576 bytes/);
  }
  // Declared too large with Expect: 100-continue: refused before the body is sent.
  const cont = await raw(
    signedHead(Buffer.alloc(0))
      .replace('Content-Length: 0', `Content-Length: ${5 * 1024 * 1024}`)
      .replace('Connection: close\r\n', 'Connection: close\r\nExpect: 100-continue\r\n'),
  );
  assert.equal(cont.status, 413, cont.text);
  assert.doesNotMatch(cont.text, /100 Continue/);

  // Slow clients: headers never finished, a body that never comes. The server
  // times them out (408 and close) while it keeps answering everyone else.
  const slow = await Promise.all([
    ...Array.from({ length: 10 }, () =>
      slowClient('POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '),
    ),
    ...Array.from({ length: 10 }, () =>
      slowClient(
        'POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"ref":',
      ),
    ),
  ]);
  for (const r of slow) {
    assert.ok(r.closedByServer, 'the server closed the slow connection');
    assert.ok(r.status === 408 || r.status === 0, `slow client: ${r.text.slice(0, 100)}`);
  }
  assert.ok(
    slow.some((r) => r.status === 408),
    'a slow body is answered 408',
  );

  const polls = await health.stop();
  assert.ok(polls.length > 0);
  assert.deepEqual(
    polls.filter((st) => st !== 200),
    [],
    'healthz answered other than 200 under hostile traffic',
  );
  // Nothing queued twice: the valid push once, the publish notice to prod is ignored.
  const jobs = jobsOf(dir).slice(0, jobsOf(dir).length - jobsBefore);
  assert.deepEqual(
    jobs.map((j) => [j.kind, j.payload.delivery]),
    [['deploy-test', delivery]],
  );
  assert.equal(deliveries(dir), 2);
  assert.equal(server.child.exitCode, null);
  assert.doesNotMatch(server.log(), new RegExp(SECRET));
  console.log(`hostile traffic: /healthz answered ${polls.length} times, all 200`);
});

/**
 * Sends `start` and then nothing, holding the socket open; resolves when the
 * server closes it (within a deadline well past the server's timeouts).
 */
function slowClient(start: string): Promise<{ closedByServer: boolean; status: number; text: string }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    let closedByServer = false;
    // The server's header timeout is its request timeout here (2 s): 60 s is only a backstop.
    const timer = setTimeout(() => sock.destroy(), 60_000);
    sock.on('data', (c: Buffer) => (text += c.toString('latin1')));
    sock.on('end', () => (closedByServer = true));
    sock.on('error', () => (closedByServer = true));
    sock.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ closedByServer, status: m ? Number(m[1]) : 0, text });
    });
    sock.write(start);
  });
}
