import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../../src/secret.js';
import { signBody, signDelivery, verifyDelivery, verifySignature } from '../../src/webhooks/sign.js';
import { createHmac } from 'node:crypto';

// GitHub's documented test vector for X-Hub-Signature-256 ("Validating webhook deliveries").
const GH_SECRET = "It's a Secret to Everybody";
const GH_BODY = 'Hello, World!';
const GH_SIG = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

describe('webhook signatures', () => {
  it("matches GitHub's published example", () => {
    assert.equal(signBody(GH_SECRET, GH_BODY), GH_SIG);
    assert.equal(signBody(new Secret(GH_SECRET), Buffer.from(GH_BODY)), GH_SIG);
  });

  it('verifies its own signatures, with a string or a Secret, a string or a Buffer', () => {
    const body = JSON.stringify({ project: 'acme', tag: 'latest' });
    const sig = signBody('s3cret', body);
    assert.ok(verifySignature('s3cret', body, sig));
    assert.ok(verifySignature(new Secret('s3cret'), Buffer.from(body), sig));
    assert.ok(verifySignature(GH_SECRET, GH_BODY, GH_SIG.toUpperCase().replace('SHA256=', 'sha256=')));
  });

  it('refuses a changed body, another secret, or a bad header', () => {
    const body = '{"a":1}';
    const sig = signBody('k', body);
    assert.equal(verifySignature('k', '{"a":2}', sig), false);
    assert.equal(verifySignature('k2', body, sig), false);
    assert.equal(verifySignature('k', `${body} `, sig), false);
    for (const bad of [
      undefined,
      '',
      'sha256=',
      sig.slice(7), // no prefix
      sig.replace('sha256=', 'sha1='),
      `${sig}00`, // too long
      sig.slice(0, -2), // too short
      `sha256=${'z'.repeat(64)}`, // not hex
      [sig], // repeated header, as node gives arrays for some headers
    ]) {
      assert.equal(verifySignature('k', body, bad), false, `header ${String(bad)}`);
    }
  });

  it('never accepts an empty secret, and refuses to sign with one', () => {
    const sig = signBody('x', 'b').replace(/^sha256=.*/, `sha256=${'0'.repeat(64)}`);
    assert.equal(verifySignature('', 'b', sig), false);
    assert.throws(() => signBody('', 'b'), /webhook secret is empty/);
    assert.throws(() => signBody(new Secret(''), 'b'), /webhook secret is empty/);
  });

  it('a publish signature covers the time, the id and the body: t \\n id \\n body', () => {
    const at = 1_765_000_000_123;
    const header = signDelivery('k', '{"a":1}', { id: 'abc-1', atMs: at });
    const mac = createHmac('sha256', 'k').update('1765000000\nabc-1\n{"a":1}').digest('hex');
    assert.equal(header, `t=1765000000,id=abc-1,sha256=${mac}`);
    const o = { now: at, windowMs: 300_000 };
    assert.deepEqual(verifyDelivery('k', '{"a":1}', header, o), {
      outcome: 'ok',
      id: 'abc-1',
      t: 1765000000,
    });
    assert.deepEqual(verifyDelivery('k', '{"a":1}', header, { now: at + 301_000, windowMs: 300_000 }), {
      outcome: 'stale',
      id: 'abc-1',
      reason:
        'the notice was signed 301 s ago, outside the 300 s window: refused as a replay (check both clocks)',
    });
    // A body-only signature (the old header's value) is not a publish signature.
    assert.equal(verifyDelivery('k', '{"a":1}', signBody('k', '{"a":1}'), o).outcome, 'unsigned');
    assert.equal(verifyDelivery('', '{"a":1}', header, o).outcome, 'unsigned');
    assert.throws(() => signDelivery('k', 'b', { id: 'a\nb', atMs: at }), /malformed/);
    assert.throws(() => signDelivery('', 'b', { id: 'a', atMs: at }), /webhook secret is empty/);
  });
});
