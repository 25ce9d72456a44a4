// Property-based tests of the webhook core (fast-check, seeded: a failure
// prints its seed and path, and ODP_FC_SEED=<seed> replays it). Whatever the
// event name and body, the GitHub reader answers an event, a reason to ignore
// or a reason to refuse, never an exception; a repository it reads always has
// a host. A publish signature verifies only for exactly the time, id and body
// it was made for, and no header at all ever throws.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseGithubDelivery } from '../../src/webhooks/github.js';
import { signBody, signDelivery, verifyDelivery, verifySignature } from '../../src/webhooks/sign.js';

const SEED = Number(process.env.ODP_FC_SEED ?? 20261206);
const RUNS = 1000;
const SHA = 'a'.repeat(40);
const realPush = {
  ref: 'refs/heads/master',
  before: '0123456789abcdef0123456789abcdef01234567',
  after: SHA,
  created: false,
  deleted: false,
  forced: false,
  head_commit: { id: SHA, message: 'Fix invoice layout' },
  repository: {
    full_name: 'acme/neomedical-odoo',
    html_url: 'https://github.com/acme/neomedical-odoo',
    clone_url: 'https://github.com/acme/neomedical-odoo.git',
    url: 'https://github.com/acme/neomedical-odoo',
  },
};

/** Any JSON value, the shapes a hostile client sends in place of a field. */
const anyValue = fc.jsonValue({ maxDepth: 3 });
/** A real push with some fields replaced (at any depth of repository) or removed. */
const mutatedPush = fc
  .record({
    top: fc.dictionary(fc.constantFrom(...Object.keys(realPush), '__proto__', 'constructor'), anyValue, {
      maxKeys: 3,
    }),
    repo: fc.dictionary(fc.constantFrom(...Object.keys(realPush.repository)), anyValue, { maxKeys: 2 }),
    drop: fc.subarray(Object.keys(realPush)),
  })
  .map(({ top, repo, drop }) => {
    const p: Record<string, unknown> = {
      ...realPush,
      repository: { ...realPush.repository, ...repo },
      ...top,
    };
    for (const k of drop) delete p[k];
    return JSON.stringify(p);
  });
const body = fc.oneof(
  mutatedPush,
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.string({ maxLength: 300 }),
  mutatedPush.chain((s) => fc.nat(s.length).map((n) => s.slice(0, n))),
);
const eventName = fc.oneof(fc.constantFrom('push', 'create', 'ping', 'issues'), fc.string({ maxLength: 70 }));
const run = <T>(name: string, arb: fc.Arbitrary<T>, check: (v: T) => void, runs = RUNS) => {
  fc.assert(fc.property(arb, check), { seed: SEED, numRuns: runs });
  console.log(`${name}: ${runs} cases (seed ${SEED})`);
};

describe('the GitHub reader, any input', () => {
  it('answers event, ignored or invalid, never throws; a repository read has a host', () => {
    run('github payloads', fc.tuple(eventName, body), ([name, b]) => {
      const r = parseGithubDelivery(name, b);
      assert.ok(['event', 'ignored', 'invalid'].includes(r.outcome));
      if (r.outcome === 'event' && r.event.kind !== 'ping') {
        assert.match(r.event.repo.host, /^[a-z0-9.-]+$/);
        assert.equal(typeof r.event.repo.fullName, 'string');
      }
      if (r.outcome !== 'event') assert.ok(r.reason.length > 0);
    });
  });
});

describe('signatures, any input', () => {
  const secret = 'k3y';
  const id = fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/);
  const now = 1_765_000_000_000;

  it('a publish signature verifies for its own time, id and body, and for nothing else', () => {
    run(
      'publish signatures',
      fc.record({
        body: fc.uint8Array({ maxLength: 200 }),
        id,
        other: id,
        skew: fc.integer({ min: -290, max: 290 }),
      }),
      ({ body, id: d, other, skew }) => {
        const b = Buffer.from(body);
        const at = now + skew * 1000;
        const header = signDelivery(secret, b, { id: d, atMs: at });
        const o = { now, windowMs: 300_000 };
        assert.equal(verifyDelivery(secret, b, header, o).outcome, 'ok');
        assert.equal(verifyDelivery('other', b, header, o).outcome, 'unsigned');
        assert.equal(
          verifyDelivery(secret, Buffer.concat([b, Buffer.from(' ')]), header, o).outcome,
          'unsigned',
        );
        if (other !== d)
          assert.equal(
            verifyDelivery(secret, b, header.replace(`id=${d},`, `id=${other},`), o).outcome,
            'unsigned',
          );
        const t = Math.floor(at / 1000);
        assert.equal(
          verifyDelivery(secret, b, header.replace(`t=${t},`, `t=${t + 1},`), o).outcome,
          'unsigned',
        );
        // The same notice, later than the window: signed, and refused as stale.
        assert.equal(
          verifyDelivery(secret, b, header, { now: now + 600_000, windowMs: 300_000 }).outcome,
          'stale',
        );
      },
      300,
    );
  });

  it('no header, however malformed, throws or verifies by chance', () => {
    const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
    const header = fc.oneof(
      fc.string({ maxLength: 200 }),
      hex64.map((h) => `sha256=${h}`),
      fc.tuple(fc.nat(), id, hex64).map(([t, d, h]) => `t=${t},id=${d},sha256=${h}`),
    );
    run('signature headers', fc.tuple(header, fc.string({ maxLength: 100 })), ([h, b]) => {
      assert.equal(verifySignature(secret, b, h), h === signBody(secret, b));
      assert.notEqual(verifyDelivery(secret, b, h, { now, windowMs: 300_000 }).outcome, 'ok');
    });
  });
});
