// The edge's plan steps (src/plan/edge.ts): a change of routes is written,
// checked by haproxy and reloaded, in that order; certificates are asked for
// only where one is needed, then served; the need is decided once, here.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  certificateNeed,
  certificateSteps,
  renewalWindowMs,
  edgeReload,
  edgeStepSubject,
  isEdgeStep,
  routeThroughEdge,
} from '../../src/plan/edge.js';
import { formatSteps } from '../../src/plan/step.js';

const DAY = 86_400_000;
const now = new Date('2026-06-01T00:00:00Z');
const acme = { directory: 'https://acme.example/dir', renewBeforeDays: 30 };
const held = (days: number, directory = acme.directory) => ({
  notAfter: new Date(now.getTime() + days * DAY),
  directory,
});

describe('certificateNeed', () => {
  test('none held, expired, another server, forced, due: each says why', () => {
    assert.equal(certificateNeed(undefined, acme, now), 'no certificate yet');
    assert.equal(certificateNeed(held(-1), acme, now), 'the certificate held has expired');
    assert.match(certificateNeed(held(80, 'https://other/dir'), acme, now) ?? '', /another ACME server/);
    assert.equal(certificateNeed(held(80), acme, now, true), 'renewal forced');
    assert.equal(certificateNeed(held(10), acme, now), 'the certificate held expires in 10 day(s)');
  });
  test('one with more than renewBeforeDays left is kept, even a day past the limit', () => {
    assert.equal(certificateNeed(held(31), acme, now), undefined);
    assert.equal(certificateNeed(held(30.5), acme, now), undefined);
  });
  test('unset, renewed at two thirds of its own lifetime: 30 days of 90, 15 of 45', () => {
    const auto = { directory: acme.directory };
    const issued = (lifetimeDays: number, leftDays: number) => ({
      notBefore: new Date(now.getTime() - (lifetimeDays - leftDays) * DAY),
      notAfter: new Date(now.getTime() + leftDays * DAY),
      directory: acme.directory,
    });
    assert.equal(certificateNeed(issued(90, 31), auto, now), undefined);
    assert.match(certificateNeed(issued(90, 29), auto, now) ?? '', /expires in 29 day/);
    assert.equal(certificateNeed(issued(45, 16), auto, now), undefined);
    assert.match(certificateNeed(issued(45, 14), auto, now) ?? '', /expires in 14 day/);
    assert.equal(certificateNeed(issued(64, 22), auto, now), undefined);
    assert.match(certificateNeed(issued(64, 21), auto, now) ?? '', /expires in 21 day/);
    // A fixed setting wins; a record without its start falls back to 30 days.
    assert.match(certificateNeed(issued(45, 25), acme, now) ?? '', /expires in 25 day/);
    assert.equal(renewalWindowMs({ notAfter: now }, {}), 30 * DAY);
  });
  test('an expired one is renewed for that reason even when forced', () => {
    assert.equal(certificateNeed(held(-3), acme, now, true), 'the certificate held has expired');
  });
});

test('a reload: write, check, reload, each after the one before', () => {
  const steps = edgeReload('the edge routes x', ['before']);
  assert.deepEqual(
    steps.map((s) => [s.id, s.after]),
    [
      ['write-edge-config:routes', ['before']],
      ['check-edge-config:routes', ['write-edge-config:routes']],
      ['reload-edge:routes', ['check-edge-config:routes']],
    ],
  );
  assert.ok(steps.every(isEdgeStep));
  assert.ok(!isEdgeStep({ id: 'run:x', kind: 'run', cause: '', after: [] }));
});

test('a domain through the edge: routed, answered, then its certificate asked for and served', () => {
  const steps = routeThroughEdge('a.example', { domain: 'a.example', reason: 'no certificate yet' }, ['w']);
  assert.deepEqual(
    steps.map((s) => s.id),
    [
      'write-edge-config:routes',
      'check-edge-config:routes',
      'reload-edge:routes',
      'wait-routed:a.example',
      'request-certificates:a.example',
      'serve-certificates:a.example',
    ],
  );
  assert.deepEqual(formatSteps(steps, edgeStepSubject).slice(3, 5), [
    "  #4 wait-routed a.example: the edge's own health checks see the instance  after #3",
    '  #5 request-certificates a.example (no certificate yet): a certificate as soon as a domain is declared, renewed before it expires  after #4',
  ]);
  // A certificate held and not due: no certificate step at all.
  assert.equal(routeThroughEdge('a.example', undefined, []).length, 4);
});

test('no certificate needed: no certificate steps', () => {
  assert.deepEqual(certificateSteps([], ['x'], 'declared'), []);
  const two = certificateSteps(
    [
      { domain: 'a.example', reason: 'no certificate yet' },
      { domain: 'b.example', reason: 'renewal forced' },
    ],
    ['x'],
    'declared',
  );
  assert.deepEqual(
    two.map((s) => s.id),
    ['request-certificates:declared', 'serve-certificates:declared'],
  );
  const serve = two[1]!;
  assert.ok(serve.kind === 'serve-certificates' && serve.domains.join() === 'a.example,b.example');
});
