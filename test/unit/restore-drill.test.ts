// The restore drill's pure parts: which instance and backup it drills, how
// row counts compare, which attachment keys it looks up, the message of a
// failed drill; the weekly jobs the schedule gets from the spec; the history
// kept in the state database.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { BackupSummary } from '../../src/ops/backup/backup-common.js';
import {
  attachmentKeys,
  chooseBackup,
  drillTier,
  failureMessage,
  type DrillPhase,
} from '../../src/ops/backup/drill-model.js';
import { compareCounts } from '../../src/ops/backup/row-counts.js';
import type { Engine } from '../../src/engines/engine.js';
import { drillName, scratchName } from '../../src/plan/data-ops.js';
import { loadPlatformDir } from '../../src/platformdir/load.js';
import { describeCadence } from '../../src/schedule/cadence.js';
import { platformJobs, restoreDrills } from '../../src/server/scheduled.js';
import type { EdgeControl } from '../../src/ops/edge/edge-sync.js';
import { openState } from '../../src/state/db.js';
import { drillsOf, recordDrill } from '../../src/state/drills.js';
import { copyExamplePlatform } from '../helpers/specs.js';

const backup = (id: string, complete = true): BackupSummary => ({
  id,
  complete,
  createdAt: '',
  ageSeconds: 0,
});

describe('choosing', () => {
  test('the newest complete backup, or the one asked for; none is an error naming the instance', () => {
    const all = [backup('20260301T010000Z', false), backup('20260228T010000Z'), backup('20260227T010000Z')];
    assert.equal(chooseBackup(all, undefined, 'acme/prod').id, '20260228T010000Z');
    assert.equal(chooseBackup(all, '20260227T010000Z', 'acme/prod').id, '20260227T010000Z');
    assert.throws(() => chooseBackup(all, '20260301T010000Z', 'acme/prod'), /incomplete/);
    assert.throws(() => chooseBackup(all, '20250101T000000Z', 'acme/prod'), /no backup 20250101T000000Z/);
    assert.throws(() => chooseBackup([backup('20260301T010000Z', false)], undefined, 'acme/prod'), {
      message: 'acme/prod has no complete backup to drill',
    });
  });

  test('prod when the project has one, else integration', () => {
    assert.equal(drillTier({ prod: {}, integration: {} }, 'acme'), 'prod');
    assert.equal(drillTier({ integration: {} }, 'acme'), 'integration');
    assert.throws(() => drillTier({}, 'acme'), /neither a prod nor an integration/);
  });

  test('the scratch database is not the one a restore uses', () => {
    assert.match(drillName('acme_prod'), /^odp_drill_[0-9a-f]{10}$/);
    assert.notEqual(drillName('acme_prod'), scratchName('acme_prod'));
  });
});

describe('checks', () => {
  test('counts: equal is no difference; a changed, a missing and an unexpected table are', () => {
    assert.deepEqual(compareCounts({ res_partner: 3, res_users: 1 }, { res_users: 1, res_partner: 3 }), []);
    assert.deepEqual(compareCounts({ res_partner: 3, ir_attachment: 2 }, { res_partner: 2, sale_order: 0 }), [
      { table: 'ir_attachment', expected: 2, actual: null },
      { table: 'res_partner', expected: 3, actual: 2 },
      { table: 'sale_order', expected: null, actual: 0 },
    ]);
  });

  test("attachment_s3's store_fname gives the key; a filestore path is outside object storage", () => {
    assert.deepEqual(
      attachmentKeys(['s3://acme-odoo-prod/ab12', 's3://acme-odoo-prod/ab12', 'cd/cd34ef', 's3://b/x/y']),
      {
        keys: ['ab12', 'x/y'],
        outside: 1,
      },
    );
  });

  test('a failed drill says which phases failed and why', () => {
    const phases: DrillPhase[] = [
      { name: 'restore', outcome: 'passed', seconds: 2, detail: 'ok' },
      { name: 'row-counts', outcome: 'skipped', seconds: 0, detail: 'none' },
      {
        name: 'attachments',
        outcome: 'failed',
        seconds: 0.1,
        detail: '1 of 3 referenced objects missing: ab12',
      },
    ];
    const r = { project: 'acme', instance: 'prod' as const, backup: '20260301T010000Z' };
    assert.equal(
      failureMessage({ ...r, phases }),
      'restore drill of acme/prod (backup 20260301T010000Z) failed: attachments: 1 of 3 referenced objects missing: ab12',
    );
    assert.equal(
      failureMessage({ ...r, phases: phases.slice(0, 2) }),
      'restore drill of acme/prod (backup 20260301T010000Z) passed',
    );
  });
});

describe('the schedule and the history', () => {
  const dir = mkdtempSync(join(tmpdir(), 'odp-drill-unit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const platform = join(dir, 'platform');
  copyExamplePlatform(platform);
  const engine = {} as Engine;

  test('one weekly restore-drill job per project, Sunday 02:00–06:00 UTC by default, among the platform jobs', async () => {
    const pd = await loadPlatformDir(platform);
    const jobs = restoreDrills(pd, { engine, dir: platform });
    assert.deepEqual(
      jobs.map((j) => j.key),
      [...pd.projects.keys()].sort().map((p) => `restore-drill:${p}`),
    );
    assert.equal(describeCadence(jobs[0]!.cadence), 'weekly on Sunday 02:00–06:00 UTC');
    assert.match(jobs[0]!.what, /\/prod's newest backup/);
    const all = await platformJobs({ engine, dir: platform, edge: {} as EdgeControl, renewEveryMs: 1 });
    assert.ok(all.some((j) => j.key === jobs[0]!.key));

    pd.platform.schedule.drills = { day: 'wednesday', at: '23:30', hours: 2 };
    assert.equal(
      describeCadence(restoreDrills(pd, { engine, dir: platform })[0]!.cadence),
      'weekly on Wednesday 23:30–01:30 UTC',
    );
  });

  test('drills are kept newest first, with their whole record', () => {
    process.env.ODP_STATE_DIR = join(dir, 'state');
    const db = openState(platform);
    try {
      const row = {
        project: 'acme',
        backup: 'b1',
        startedAt: '2026-03-01T02:00:00Z',
        seconds: 12.5,
        dataAgeSeconds: 3600,
      };
      recordDrill(db, { ...row, instance: 'prod', outcome: 'passed' }, { n: 1 });
      recordDrill(db, { ...row, instance: 'prod', outcome: 'failed' }, { n: 2 });
      recordDrill(db, { ...row, instance: 'integration', outcome: 'passed' }, { n: 3 });
      assert.deepEqual(
        drillsOf(db, 'acme', 'prod').map((d) => [d.outcome, d.record]),
        [
          ['failed', { n: 2 }],
          ['passed', { n: 1 }],
        ],
      );
      assert.equal(drillsOf(db, 'acme', undefined).length, 3);
      assert.deepEqual(drillsOf(db, 'other', undefined), []);
    } finally {
      db.close();
      delete process.env.ODP_STATE_DIR;
    }
  });
});
