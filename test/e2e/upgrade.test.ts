// Issue 5's pinned deploys of prod end to end, through the CLI on a real engine:
// a platform of its own (test/e2e/upgrade-fixture.ts), prod provisioned, sample
// images at 1.0.0 (setup), 1.0.1 (same migration versions) and 1.1.0 (a
// migration). The dry run's plan (image change, pending versions, replicas,
// backup) and its pre-flight; the first deploy (the migration once, then the
// replicas); the no-migration upgrade with a load loop through the edge
// (failures counted and printed); a never-healthy replica; an unfinished
// migration reported. Upgrades with a migration, failures, rollback and an
// interrupted deploy: upgrade-live.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cleanUp, docker, setUp } from './helpers.js';
import { SETUP, upgradeFixture, withVersion, type UpgradeFixture } from './upgrade-fixture.js';

let f: UpgradeFixture;

before(async () => {
  await setUp();
  f = await upgradeFixture('e2eupg');
  await f.buildImage('1.0.0', SETUP);
  await f.buildImage('1.0.1', SETUP);
  await f.buildImage(
    '1.1.0',
    withVersion(
      SETUP,
      '1.1.0',
      `ref-sql "CREATE TABLE IF NOT EXISTS upgrade_marks (v text); INSERT INTO upgrade_marks VALUES ('1.1.0')"`,
    ),
  );
  // Never healthy: a replacement that fails.
  await f.buildImage('1.0.2', SETUP, 'ENV REF_NEVER_HEALTHY=1');
});

after(async () => {
  await cleanUp();
});

test('layer 1: the dry run of a first deploy plans the migration and changes nothing', async () => {
  const plan = await f.dryRun('1.0.0');
  assert.equal(plan.image.from, undefined);
  assert.equal(plan.image.to, `${f.tp.image}:1.0.0`);
  assert.equal(plan.migration.fresh, true);
  assert.deepEqual(plan.migration.pending, ['setup', '1.0.0']);
  assert.deepEqual(
    plan.replicas.map((r) => [r.unit, r.action]),
    [
      [`${f.stack}-odoo-${plan.release}-1`, 'start'],
      [`${f.stack}-odoo-${plan.release}-2`, 'start'],
    ],
  );
  assert.match(plan.release, /^1-0-0-[0-9a-f]{4}$/);
  assert.deepEqual(
    [...new Set(plan.steps.map((s) => s.kind))],
    [
      'create-network',
      'create-job',
      'run-migration',
      'start-unit',
      'wait-healthy',
      'route-edge',
      'remove-unit',
      'record-version',
    ],
  );
  assert.equal(plan.backup, false, 'a fresh database has nothing to back up');
  const text = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.0.0', '--dry-run']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /pending: setup, 1\.0\.0/);
  assert.match(text.stdout, /backup +no/);
  const units = await docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [`odp.project=${f.tp.project}`] }),
  });
  assert.deepEqual(units, []);
});

test('layer 1: pre-flight failures stop before anything changes', async () => {
  const r = await f.odp(['deploy', f.tp.project, 'prod', '--version', '9.9.9', '--dry-run']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /image not found: .*:9\.9\.9/);
  const bad = await f.odp(['deploy', f.tp.project, 'prod', '--version', 'latest', '--dry-run']);
  assert.notEqual(bad.code, 0);
});

test('first deploy: the migration runs once, then the replicas start without migrating', async () => {
  const r = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.0.0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /deployed .*\/prod 1\.0\.0/);
  assert.deepEqual(await f.servedVersions(), ['1.0.0', '1.0.0']);
  const done = await f.asRole((c) =>
    c.query<{ number: string }>(
      'SELECT number FROM marabunta_version WHERE date_done IS NOT NULL ORDER BY 1',
    ),
  );
  assert.deepEqual(
    done.rows.map((x) => x.number),
    ['1.0.0', 'setup'],
  );
  assert.equal(await f.specVersion(), '1.0.0');
  const edge = await f.viaEdge('/web/version');
  assert.equal(edge.status, 200);
  assert.match(edge.body, /1\.0\.0/);
  await f.asRole((c) => c.query("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before-upgrades')"));
  const again = await f.dryRun('1.0.0');
  assert.equal(again.upToDate, true);
});

test('layer 2: an upgrade without migration starts the new release beside the old one, serving throughout', async () => {
  const plan = await f.dryRun('1.0.1');
  assert.deepEqual(plan.image, { from: `${f.tp.image}:1.0.0`, to: `${f.tp.image}:1.0.1` });
  assert.deepEqual(plan.migration.pending, []);
  assert.equal(plan.backup, false);
  assert.deepEqual(
    plan.replicas.map((r) => r.action),
    ['replace', 'replace'],
  );

  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (!stop) {
      const r = await f.viaEdge('/web/version');
      if (r.status === 200) ok++;
      else failures.push(`${Date.now()} ${r.status} ${r.body.slice(0, 40)}`);
    }
  })();
  let r;
  try {
    r = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.0.1']);
  } finally {
    stop = true;
    await loop;
  }
  assert.equal(r.code, 0, r.stderr);
  if (failures.length) {
    console.log(r.stderrLines.map((l) => `${l.at} ${l.text}`).join('\n'));
    console.log([...new Set(failures.map((f) => f.slice(0, 11)))].join('\n'));
  }
  console.log(`load loop through the edge: ${ok} requests answered, ${failures.length} failed`);
  assert.ok(ok > 0);
  // The edge is told each new replica's address (docs/decisions/0021): no request fails.
  assert.deepEqual(failures, []);
  assert.deepEqual(await f.servedVersions(), ['1.0.1', '1.0.1']);
  assert.equal(await f.specVersion(), '1.0.1');
  const kept = await f.asRole((c) => c.query<{ v: string }>('SELECT v FROM kept'));
  assert.deepEqual(
    kept.rows.map((x) => x.v),
    ['before-upgrades'],
  );
  assert.deepEqual(await f.unitNames(), f.prodUnits);
  const h = await f.odp(['history', f.tp.project, 'prod', '--json']);
  assert.equal(h.code, 0, h.stderr);
  const { operations } = JSON.parse(h.stdout) as {
    operations: { kind: string; version: string; outcome: string }[];
  };
  assert.ok(
    operations.some((o) => o.kind === 'deploy' && o.version === '1.0.1' && o.outcome === 'succeeded'),
  );
});

test('layer 2: a replica that never becomes healthy fails the deploy; the old version keeps serving', async () => {
  const r = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.0.2', '--health-timeout', '15']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /wait-healthy failed: .*Undone: /s);
  assert.deepEqual(await f.servedVersions(), ['1.0.1', '1.0.1']);
  assert.equal(await f.specVersion(), '1.0.1');
  const edge = await f.viaEdge('/web/version');
  assert.equal(edge.status, 200);
  assert.match(edge.body, /1\.0\.1/);
  assert.deepEqual(await f.unitNames(), f.prodUnits);
  const h = await f.odp(['history', f.tp.project, 'prod', '--json']);
  const { operations } = JSON.parse(h.stdout) as { operations: { version: string; outcome: string }[] };
  assert.equal(operations[0]?.version, '1.0.2');
  assert.equal(operations[0]?.outcome, 'failed');
});

test('layer 1: a pending migration plans a backup; an unfinished one is reported', async () => {
  const plan = await f.dryRun('1.1.0');
  assert.deepEqual(plan.migration.pending, ['1.1.0']);
  assert.equal(plan.backup, true);
  await f.asRole((c) =>
    c.query("INSERT INTO marabunta_version (number, date_start) VALUES ('1.1.0', now())"),
  );
  try {
    const failed = await f.dryRun('1.1.0');
    assert.deepEqual(failed.migration.unfinished, ['1.1.0']);
    const text = await f.odp(['deploy', f.tp.project, 'prod', '--version', '1.1.0', '--dry-run']);
    assert.match(text.stdout, /started and never finished/);
  } finally {
    await f.asRole((c) => c.query("DELETE FROM marabunta_version WHERE number = '1.1.0'"));
  }
});
