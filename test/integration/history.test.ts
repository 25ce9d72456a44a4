// The operation history on the real state database: steps, outcomes, and an
// operation whose process died being reported as interrupted.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentProgress } from '../../src/progress.js';
import { openState } from '../../src/state/db.js';
import { history, recorded, settle, unsettledInterrupted } from '../../src/state/history.js';

const dir = mkdtempSync(join(tmpdir(), 'odp-history-'));
process.env.ODP_STATE_DIR = join(dir, 'state');

test('a successful operation records its steps in order, with timings, and who ran it', async () => {
  const result = await recorded(
    dir,
    { project: 'p', instance: 'test', kind: 'deploy', version: '1.0.0' },
    silentProgress,
    async (p) => {
      p.start('a', 'create network');
      p.done('a');
      p.start('b', 'start odoo');
      p.done('b');
      return 42;
    },
  );
  assert.equal(result, 42);
  const [op] = history(dir, 'p', 'test');
  assert.equal(op?.outcome, 'succeeded');
  assert.equal(op?.version, '1.0.0');
  assert.match(op?.actor ?? '', /@/);
  assert.deepEqual(
    op?.steps.map((s) => `${s.step}:${s.outcome}`),
    ['create network:ok', 'start odoo:ok'],
  );
  assert.ok(op?.steps.every((s) => typeof s.seconds === 'number'));
});

test('a failing operation records the failed step and the error, and rethrows it', async () => {
  await assert.rejects(
    recorded(dir, { project: 'p', instance: 'test', kind: 'deploy' }, silentProgress, async (p) => {
      p.start('a', 'wait for odoo');
      p.fail('a', 'did not become healthy');
      throw new Error('step #8 failed');
    }),
    /step #8 failed/,
  );
  const [op] = history(dir, 'p', 'test');
  assert.equal(op?.outcome, 'failed');
  assert.equal(op?.detail, 'step #8 failed');
  assert.deepEqual(
    op?.steps.map((s) => [s.step, s.outcome, s.detail]),
    [['wait for odoo', 'failed', 'did not become healthy']],
  );
});

test('an operation left running by a process that is gone reads as interrupted', () => {
  const db = openState(dir);
  // A pid that cannot be alive: above the kernel's pid_max.
  db.prepare(
    `INSERT INTO operations (project, instance, kind, actor, pid, host, started_at, outcome) VALUES ('p', 'prod', 'deploy', 'x@y', 99999999, ?, ?, 'running')`,
  ).run(hostname(), new Date().toISOString());
  db.close();
  const [op] = history(dir, 'p', 'prod');
  assert.equal(op?.outcome, 'interrupted');
  assert.match(op?.detail ?? '', /stopped before it finished/);
});

test('histories are per instance, newest first', () => {
  assert.equal(history(dir, 'p', 'integration').length, 0);
  const ops = history(dir, 'p', 'test');
  assert.ok(ops.length >= 2 && ops[0]!.id > ops[1]!.id);
});

test('unsettledInterrupted: every instance at once, as its own history says', async () => {
  const d = dir; // ODP_STATE_DIR: the state database the tests above wrote too
  const insert = (project: string, instance: string, outcome: string, pid = 99999999) => {
    const db = openState(d);
    const r = db
      .prepare(
        `INSERT INTO operations (project, instance, kind, version, actor, pid, host, started_at, outcome) VALUES (?, ?, 'deploy', '1.2.0', 'x@y', ?, ?, ?, ?)`,
      )
      .run(project, instance, pid, hostname(), new Date().toISOString(), outcome);
    db.close();
    return Number(r.lastInsertRowid);
  };
  const dead = insert('a', 'prod', 'running'); // a process that is gone: interrupted
  insert('b', 'prod', 'interrupted');
  for (let i = 0; i < 5; i++) insert('b', 'prod', 'succeeded'); // pushed out of the newest five
  const settledOne = insert('c', 'integration', 'interrupted');
  const later = insert('c', 'integration', 'succeeded');
  settle(d, settledOne, later);
  const found = unsettledInterrupted(d);
  assert.deepEqual(
    [...found.keys()].filter((k) => /^[abc]\//.test(k)),
    ['a/prod'],
  );
  assert.equal(found.get('a/prod')?.id, dead);
  assert.equal(found.get('a/prod')?.version, '1.2.0');
  for (const [project, instance] of [
    ['a', 'prod'],
    ['b', 'prod'],
    ['c', 'integration'],
  ] as const) {
    const fromHistory = history(d, project, instance, 5).find(
      (o) => o.outcome === 'interrupted' && o.settledBy === null,
    );
    assert.equal(found.get(`${project}/${instance}`)?.id, fromHistory?.id);
  }
});
