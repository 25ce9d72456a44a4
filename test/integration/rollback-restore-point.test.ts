// The restore point backup retention keeps for `odp rollback` (decision 0079), read
// from a real state database: the backup of the newest successful deploy that
// brought prod to the version its spec names, and nothing else.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { rollbackRestorePoint } from '../../src/ops/release/rollback-target.js';
import { loadPlatformDir } from '../../src/platformdir/load.js';
import { silentProgress } from '../../src/progress.js';
import { recorded } from '../../src/state/history.js';
import { copyExamplePlatform } from '../helpers/specs.js';

const dir = mkdtempSync(join(tmpdir(), 'odp-restore-point-'));
process.env.ODP_STATE_DIR = join(dir, 'state');
copyExamplePlatform(dir);

/** A deploy of neomedical's prod (its spec says 10.0.0) from `from`, with a backup taken first. */
async function deploy(version: string, backupId: string, fails = false): Promise<void> {
  await recorded(
    dir,
    { project: 'neomedical', instance: 'prod', kind: 'deploy', version },
    silentProgress,
    (_, op) => {
      op.annotate({ fromVersion: '9.0.0', backupId });
      return fails ? Promise.reject(new Error('migration failed')) : Promise.resolve();
    },
  ).catch(() => undefined);
}

test("the restore point of the deploy that brought prod to its spec's version, once there is one", async () => {
  const pd = await loadPlatformDir(dir);
  assert.equal(rollbackRestorePoint(pd, 'neomedical', 'prod'), null);
  await deploy('10.0.0', '20250509T010000Z');
  assert.equal(rollbackRestorePoint(pd, 'neomedical', 'prod'), '20250509T010000Z');
  // A failed deploy is nothing to roll back; one to another version is not what runs.
  await deploy('10.0.0', '20250510T010000Z', true);
  await deploy('11.0.0', '20250511T010000Z');
  assert.equal(rollbackRestorePoint(pd, 'neomedical', 'prod'), '20250509T010000Z');
  assert.equal(rollbackRestorePoint(pd, 'neomedical', 'integration'), null);
});
