// Issue 5's upgrades that change the database, end to end through the CLI on a
// real engine (test/e2e/upgrade-fixture.ts): prod at 1.0.0 with a logged-in
// session and an attachment in S3; 1.1.0 migrates under the edge's maintenance
// page (a load loop through the edge sees only 2xx or that page); 1.2.0's
// migration fails and everything comes back by itself (database restored, old
// replicas serving); `odp rollback` returns to 1.0.1 and its restore point, and
// again forward without losing a row; odp killed in the middle of 1.3.0's
// migration is undone by the next deploy. After each step: the version served,
// the database, the session and the attachment.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sharedUnit } from '../../src/compose/platform.js';
import { assertRanSteps, cleanUp, docker, setUp, SLOW_MACHINE_MS } from './helpers.js';
import { SETUP, upgradeFixture, withVersion, type UpgradeFixture } from './upgrade-fixture.js';

let f: UpgradeFixture;
let sid = '';
let attachment = 0;
const CONTENT = 'a customer file, kept across versions';

const V110 = withVersion(
  SETUP,
  '1.1.0',
  `ref-sql "CREATE TABLE upgrade_marks (v text); INSERT INTO upgrade_marks VALUES ('1.1.0')"`,
  // Long enough for the load loop to see the maintenance page.
  'sleep 3',
);

before(async () => {
  await setUp();
  f = await upgradeFixture('e2elive');
  await f.buildImage('1.0.0', SETUP);
  await f.buildImage('1.0.1', SETUP);
  await f.buildImage('1.1.0', V110);
  await f.buildImage(
    '1.2.0',
    withVersion(
      V110,
      '1.2.0',
      `ref-sql "INSERT INTO upgrade_marks VALUES ('1.2.0')"`,
      'echo 1.2.0 breaks >&2; exit 3',
    ),
  );
  await f.buildImage(
    '1.3.0',
    withVersion(V110, '1.3.0', `ref-sql "INSERT INTO upgrade_marks VALUES ('1.3.0')"`, 'sleep 120'),
  );
  await f.buildImage(
    '1.4.0',
    withVersion(V110, '1.4.0', `ref-sql "INSERT INTO upgrade_marks VALUES ('1.4.0')"`),
  );
});

after(async () => {
  await cleanUp();
});

const rows = (sql: string) =>
  f.asRole(async (c) => (await c.query<{ v: string }>(sql)).rows.map((r) => r.v).sort());
const marks = () =>
  f.asRole(async (c) => {
    const t = await c.query<{ t: string | null }>("SELECT to_regclass('upgrade_marks')::text AS t");
    if (!t.rows[0]?.t) return undefined;
    return (await c.query<{ v: string }>('SELECT v FROM upgrade_marks ORDER BY v')).rows.map((r) => r.v);
  });

/** The user's session and file, through the edge: still there. */
async function userStillThere(): Promise<void> {
  const info = await f.viaEdge('/web/session/get_session_info', { headers: { cookie: `session_id=${sid}` } });
  assert.equal(info.status, 200, `the session survives: ${info.body}`);
  assert.equal((JSON.parse(info.body) as { username: string }).username, 'admin');
  const file = await f.viaEdge(`/web/content/${attachment}`);
  assert.equal(file.status, 200);
  assert.equal(file.body, CONTENT);
}

async function prodStatus(): Promise<{ maintenanceSince?: string; interrupted?: { version: string } }> {
  const r = await f.odp(['status', f.tp.project, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { instances } = JSON.parse(r.stdout) as {
    instances: { instance: string; maintenanceSince?: string; interrupted?: { version: string } }[];
  };
  return instances.find((i) => i.instance === 'prod')!;
}

async function edgeServes(version: string): Promise<void> {
  const r = await f.viaEdge('/web/version');
  assert.equal(r.status, 200, r.body);
  assert.equal((JSON.parse(r.body) as { version: string }).version, version);
}

async function lastOperation(): Promise<{
  steps: { id: string | null; kind: string | null; outcome: string }[];
  kind: string;
  version: string;
  outcome: string;
  backupId: string | null;
  fromVersion: string | null;
}> {
  const h = await f.odp(['history', f.tp.project, 'prod', '--json']);
  assert.equal(h.code, 0, h.stderr);
  return (JSON.parse(h.stdout) as { operations: Awaited<ReturnType<typeof lastOperation>>[] }).operations[0]!;
}

test('prod at 1.0.0 with a logged-in user and an attachment in object storage', async () => {
  const r = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.0.0']);
  assert.equal(r.code, 0, r.stderr);
  const login = await f.viaEdge('/web/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `login=admin&password=${encodeURIComponent(f.adminPassword.reveal())}`,
  });
  assert.equal(login.status, 200, login.body);
  sid = /session_id=([a-f0-9]+)/.exec(String(login.headers['set-cookie']))?.[1] ?? '';
  assert.ok(sid);
  const up = await f.viaEdge('/web/binary/upload_attachment?name=contract.txt', {
    method: 'POST',
    body: CONTENT,
  });
  assert.equal(up.status, 200, up.body);
  const { id, checksum } = JSON.parse(up.body) as { id: number; checksum: string };
  assert.equal(checksum, createHash('sha1').update(CONTENT).digest('hex'));
  attachment = id;
  await f.asRole((c) => c.query("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before-upgrades')"));
  await userStillThere();
});

test('an upgrade without migration keeps the user logged in and the file readable', async () => {
  const r = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.0.1']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await f.servedVersions(), ['1.0.1', '1.0.1']);
  await edgeServes('1.0.1');
  assert.deepEqual(await rows('SELECT v FROM kept'), ['before-upgrades']);
  await userStillThere();
  const op = await lastOperation();
  assert.equal(op.fromVersion, '1.0.0');
  assert.equal(op.backupId, null, 'no migration: no backup needed');
});

/** Restarts the edge: it must come back serving `version` from the file the upgrade left. */
async function restartedEdgeServes(version: string): Promise<void> {
  await docker.getContainer(sharedUnit({ name: f.tp.platform }, 'edge')).restart();
  const deadline = Date.now() + SLOW_MACHINE_MS;
  let r = await f.viaEdge('/web/version');
  while (r.status !== 200 && Date.now() < deadline) {
    await sleep(500);
    r = await f.viaEdge('/web/version');
  }
  await edgeServes(version);
}

test('the edge restarted after an upgrade routes to the new release (its file says what the switch did)', async () => {
  await restartedEdgeServes('1.0.1');
});

test('an upgrade with a migration: backup, maintenance page, one migration, replicas, nothing lost', async () => {
  const plan = await f.dryRun('1.1.0');
  assert.deepEqual(plan.migration.pending, ['1.1.0']);
  assert.equal(plan.backup, true);

  let stop = false;
  const seen = { ok: 0, maintenance: 0, other: [] as string[] };
  const loop = (async () => {
    while (!stop) {
      const r = await f.viaEdge('/web/version');
      if (r.status === 200) seen.ok++;
      else if (r.status === 503 && r.headers['retry-after'] && /Under maintenance/.test(r.body))
        seen.maintenance++;
      else seen.other.push(`${r.status} ${r.body.slice(0, 60)}`);
    }
  })();
  let r;
  try {
    r = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.1.0']);
  } finally {
    stop = true;
    await loop;
  }
  console.log(
    `through the edge during the upgrade: ${seen.ok} ok, ${seen.maintenance} maintenance pages, ${seen.other.length} other`,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(seen.maintenance > 0, 'the maintenance page was served during the migration');
  assert.deepEqual(
    seen.other,
    [],
    'every answer was the old version, the maintenance page or the new version',
  );
  assert.deepEqual(await f.servedVersions(), ['1.1.0', '1.1.0']);
  await edgeServes('1.1.0');
  assert.deepEqual(await marks(), ['1.1.0'], 'the migration ran exactly once');
  assert.deepEqual(await rows('SELECT v FROM kept'), ['before-upgrades']);
  await userStillThere();
  assert.equal(await f.specVersion(), '1.1.0');
  const op = await lastOperation();
  assert.equal(op.outcome, 'succeeded');
  assert.equal(op.fromVersion, '1.0.1');
  assert.ok(op.backupId, 'the restore point is recorded');
  const backups = await f.odp(['backups', f.tp.project, 'prod', '--json']);
  assert.match(backups.stdout, new RegExp(op.backupId));
  assert.deepEqual(await f.unitNames(), f.prodUnits);
  // The dry run printed the steps the run executed: the same ids, kinds and order.
  assertRanSteps(op.steps, plan.steps);
});

test('the edge restarted after a maintenance window routes to the new release, out of maintenance', async () => {
  // Its file was written when the window ended: the route switched in it, the page gone.
  await restartedEdgeServes('1.1.0');
});

test('a failing migration restores the database and the old version serves again', async () => {
  await f.asRole((c) => c.query("INSERT INTO kept VALUES ('after-1.1.0')"));
  const r = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.2.0']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /the migration failed/);
  assert.match(r.stderr, /1\.2\.0 breaks/, 'the migration log is shown');
  assert.match(r.stderr, /restore-database from backup/);
  assert.deepEqual(await f.servedVersions(), ['1.1.0', '1.1.0']);
  await edgeServes('1.1.0');
  assert.deepEqual(await marks(), ['1.1.0'], "1.2.0's half-done migration is undone");
  assert.deepEqual(await rows('SELECT v FROM kept'), ['after-1.1.0', 'before-upgrades']);
  await userStillThere();
  assert.equal(await f.specVersion(), '1.1.0');
  // A later deploy starts clean: no unfinished version to repair by hand.
  const plan = await f.dryRun('1.2.0');
  assert.deepEqual(plan.migration.pending, ['1.2.0']);
  assert.deepEqual(plan.migration.unfinished, []);
  assert.equal((await lastOperation()).outcome, 'failed');
  assert.deepEqual(await f.unitNames(), f.prodUnits);
});

test('rollback returns to 1.0.1 and its restore point; rolling back again loses nothing', async () => {
  const dry = await f.odp(['rollback', f.tp.project, 'prod', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const { plan } = JSON.parse(dry.stdout) as {
    plan: { from: string; to: string; restorePoint: string | null };
  };
  assert.equal(plan.from, '1.1.0');
  assert.equal(plan.to, '1.0.1');
  assert.ok(plan.restorePoint);
  const refused = await f.odp(['rollback', f.tp.project, 'prod']);
  assert.notEqual(refused.code, 0, 'a database restore needs a confirmation');
  assert.deepEqual(await f.servedVersions(), ['1.1.0', '1.1.0']);

  const r = await f.odp(['rollback', f.tp.project, 'prod', '--yes']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await f.servedVersions(), ['1.0.1', '1.0.1']);
  await edgeServes('1.0.1');
  assert.equal(await marks(), undefined, 'the database is back before the 1.1.0 migration');
  assert.deepEqual(await rows('SELECT v FROM kept'), ['before-upgrades']);
  await userStillThere();
  assert.equal(await f.specVersion(), '1.0.1');
  const op = await lastOperation();
  assert.equal(op.kind, 'rollback');
  assert.ok(op.backupId, 'the data written since 1.1.0 was backed up first');

  const forward = await f.odp(['rollback', f.tp.project, 'prod', '--yes']);
  assert.equal(forward.code, 0, forward.stderr);
  assert.deepEqual(await f.servedVersions(), ['1.1.0', '1.1.0']);
  assert.deepEqual(
    await rows('SELECT v FROM kept'),
    ['after-1.1.0', 'before-upgrades'],
    'nothing written was lost',
  );
  assert.deepEqual(await marks(), ['1.1.0']);
  await userStillThere();
});

test('odp killed during a migration: the next deploy sees it and undoes it', async () => {
  const killed = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.3.0'], {
    // The step's start line (the plan printed before names it too).
    killAfter: { line: /^\[[^\]]+\] run-migration 1\.3\.0 in /, ms: 4000 },
  });
  assert.equal(killed.code, null, `killed mid-migration:\n${killed.stderr}`);
  const during = await f.viaEdge('/web/version');
  assert.equal(during.status, 503, 'the maintenance page stays up: the flag is in the state');
  assert.equal((await lastOperation()).outcome, 'interrupted');
  const stuck = await prodStatus();
  assert.ok(stuck.maintenanceSince, '`odp status` says the instance is in maintenance');
  assert.equal(stuck.interrupted?.version, '1.3.0', '`odp status` names the interrupted deploy');
  const text = await f.odp(['status', f.tp.project]);
  assert.match(text.stdout, /in maintenance at the edge since/);
  assert.match(text.stdout, /deploy #\d+ to 1\.3\.0 was interrupted/);

  const r = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.1.0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /1\.3\.0 was interrupted/);
  assert.match(r.stderr, /undone/);
  const settled = await prodStatus();
  assert.equal(settled.maintenanceSince, undefined);
  assert.equal(settled.interrupted, undefined);
  assert.deepEqual(await f.servedVersions(), ['1.1.0', '1.1.0']);
  await edgeServes('1.1.0');
  assert.deepEqual(await marks(), ['1.1.0'], "1.3.0's half-done migration is undone");
  assert.deepEqual(await rows('SELECT v FROM kept'), ['after-1.1.0', 'before-upgrades']);
  await userStillThere();
  assert.deepEqual(await f.unitNames(), f.prodUnits);
  const h = await f.odp(['history', f.tp.project, 'prod', '--json']);
  const ops = (
    JSON.parse(h.stdout) as {
      operations: { id: number; version: string; outcome: string; settledBy: number | null }[];
    }
  ).operations;
  const interrupted = ops.find((o) => o.version === '1.3.0');
  assert.equal(interrupted?.outcome, 'interrupted');
  assert.equal(interrupted?.settledBy, ops[0]?.id, 'settled by the deploy that followed');
});

test('odp killed while the new release starts after its migration: undone, the database restored', async () => {
  const killed = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.4.0'], {
    killAfter: { line: /^\[[^\]]+\] wait-healthy .*-odoo-1-4-0-/, ms: 0 },
  });
  assert.equal(killed.code, null, `killed while the new units start:\n${killed.stderr}`);
  const cut = await lastOperation();
  assert.ok(
    cut.steps.some((x) => x.kind === 'run-migration' && x.outcome === 'ok'),
    'killed after its migration ran',
  );
  const r = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.1.0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /1\.4\.0 was interrupted/);
  assert.match(r.stderr, /undone/);
  assert.deepEqual(await f.servedVersions(), ['1.1.0', '1.1.0']);
  await edgeServes('1.1.0');
  assert.deepEqual(await marks(), ['1.1.0'], "1.4.0's migration is undone with the restore point");
  assert.deepEqual(await rows('SELECT v FROM kept'), ['after-1.1.0', 'before-upgrades']);
  await userStillThere();
  assert.deepEqual(await f.unitNames(), f.prodUnits);
});

test('odp killed once the edge routes the new release: the next command completes it', async () => {
  const killed = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.4.0'], {
    killAfter: { line: /^\[[^\]]+\] leave-maintenance /, ms: 0 },
  });
  assert.equal(killed.code, null, `killed after the edge switched:\n${killed.stderr}`);
  const cut = await lastOperation();
  assert.ok(
    cut.steps.some((x) => x.kind === 'route-edge' && x.outcome === 'ok'),
    'killed after the edge switched',
  );
  const r = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.4.0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /1\.4\.0 was interrupted/);
  assert.match(r.stderr, /completed/);
  assert.deepEqual(await f.servedVersions(), ['1.4.0', '1.4.0']);
  await edgeServes('1.4.0');
  assert.deepEqual(await marks(), ['1.1.0', '1.4.0'], 'one migration, kept');
  assert.deepEqual(await rows('SELECT v FROM kept'), ['after-1.1.0', 'before-upgrades']);
  await userStillThere();
  assert.equal(await f.specVersion(), '1.4.0');
  assert.deepEqual(await f.unitNames(), f.prodUnits, 'the old release is gone');
});
