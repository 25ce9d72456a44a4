// The delivery record of the state database (src/state/jobs.ts withDelivery):
// a delivery is known again by its id or, for GitHub, by its body's hash, after
// the database is closed and opened again (a server restart); deliveries older
// than the retention are forgotten, and at most DELIVERY_RETENTION.rows are kept.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openState } from '../../src/state/db.js';
import { DELIVERY_RETENTION, deliveryCount, withDelivery } from '../../src/state/jobs.js';

const root = mkdtempSync(join(tmpdir(), 'odp-deliveries-'));
after(() => rmSync(root, { recursive: true, force: true }));
// Each platform directory keeps its own state database beside it.
delete process.env.ODP_STATE_DIR;

const done = () => ({ outcome: 'queued' });

test('a body seen before is a duplicate under a new id, after a restart too; its id is named', () => {
  let db = openState(join(root, 'p'));
  const first = withDelivery(db, { source: 'github', id: 'a', event: 'push', bodySha256: 'h1' }, done);
  assert.equal(first.duplicate, false);
  db.close();
  db = openState(join(root, 'p'));
  try {
    let ran = false;
    const replay = withDelivery(db, { source: 'github', id: 'b', event: 'push', bodySha256: 'h1' }, () => {
      ran = true;
      return done();
    });
    assert.deepEqual(replay, { duplicate: true, by: 'body', of: 'a' });
    assert.equal(ran, false);
    assert.deepEqual(withDelivery(db, { source: 'github', id: 'a', event: 'push', bodySha256: 'h2' }, done), {
      duplicate: true,
      by: 'id',
      of: 'a',
    });
    // Another source's record is its own; a delivery without a body hash is known by its id only.
    assert.equal(withDelivery(db, { source: 'odp', id: 'c', event: 'publish' }, done).duplicate, false);
    assert.equal(withDelivery(db, { source: 'odp', id: 'd', event: 'publish' }, done).duplicate, false);
    assert.equal(deliveryCount(db), 3);
  } finally {
    db.close();
  }
});

test(`deliveries older than ${DELIVERY_RETENTION.days} days are forgotten`, () => {
  const db = openState(join(root, 'q'));
  try {
    const old = new Date(Date.now() - (DELIVERY_RETENTION.days + 1) * 86_400_000);
    withDelivery(db, { source: 'github', id: 'old', event: 'push', bodySha256: 'h' }, done, old);
    assert.equal(deliveryCount(db), 1);
    const again = withDelivery(db, { source: 'github', id: 'new', event: 'push', bodySha256: 'h' }, done);
    assert.equal(again.duplicate, false, 'the old record was pruned first');
    assert.equal(deliveryCount(db), 1);
  } finally {
    db.close();
  }
});
