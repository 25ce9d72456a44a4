// Issue 13's restore drill end to end on a real engine: a platform (embedded
// S3, edge on free ports) with prod provisioned, Odoo-like rows and
// attachments written as its role, marabunta's version 10.0.0 done, the
// project's image at 10.0.0 built, and a stand-in unit so prod counts as
// deployed. `odp backup` records the row counts; `odp drill` restores the
// backup into a scratch database, checks it and starts Odoo on it, and drops
// it. The dump overwritten with other bytes: `odp drill` fails naming the
// restore, and `odp schedule run restore-drill:<project>` fails too, which
// `odp schedule` and the metric the RestoreDrillFailed alert reads both show.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { connect, type PgClient } from '../../src/backends/postgres/index.js';
import { ObjectStorage } from '../../src/backends/s3/index.js';
import { sharedUnit } from '../../src/compose/platform.js';
import type { DrillRecord } from '../../src/ops/backup/drill-model.js';
import type { EdgeControl } from '../../src/ops/edge/edge-sync.js';
import { platformUp } from '../../src/ops/platform/platform.js';
import { platformSecrets } from '../../src/ops/secrets/platform-secrets.js';
import { loadProjectSecrets } from '../../src/ops/secrets/secrets.js';
import { silentProgress } from '../../src/progress.js';
import { ScheduleRunner } from '../../src/schedule/runner.js';
import { Secret } from '../../src/secret.js';
import { scheduleMetrics } from '../../src/server/metrics.js';
import { platformJobs } from '../../src/server/scheduled.js';
import { openState } from '../../src/state/db.js';
import { withEdgeAndStorage } from '../helpers/edge.js';
// In the order the test uses them.
import {
  setUp,
  makePlatform,
  uniqueName,
  buildSampleImage,
  engine,
  docker,
  runCli,
  cleanUp,
  type TestPlatform,
} from './helpers.js';

let tp: TestPlatform;
let s3Port = 0;
let superuser: Secret;
let dbPassword: Secret;
let role = '';
let database = '';
const bucketName = () => `${tp.project}-odoo-prod`;
const s3rver = new Secret('S3RVER');
const odp = (args: string[]) => runCli(['--dir', tp.dir, ...args], { timeoutMs: 300_000 });

before(async () => {
  await setUp();
  tp = await makePlatform(uniqueName('e2edrill'));
  ({ s3Port } = await withEdgeAndStorage(tp));
  await Promise.all([
    platformUp(engine, tp.dir, { progress: silentProgress }),
    buildSampleImage(`${tp.image}:10.0.0`, '10.0.0'),
  ]);
  superuser = (await platformSecrets(tp.dir, { generate: false })).values.get('POSTGRES_PASSWORD')!;
  dbPassword = (await loadProjectSecrets(tp.dir, tp.project, {}))!.get('PROD__DB_PASSWORD')!;
});

after(async () => {
  await cleanUp();
});

async function pg(user: string, password: Secret, db: string): Promise<PgClient> {
  const info = await docker.getContainer(sharedUnit({ name: tp.platform }, 'postgres-prod')).inspect();
  const port = Number(info.NetworkSettings.Ports['5432/tcp']?.[0]?.HostPort);
  return connect({ host: '127.0.0.1', port, user, password, database: db });
}

function storage(): ObjectStorage {
  const endpoint = `http://127.0.0.1:${s3Port}`;
  return new ObjectStorage({ endpoint, region: 'us-east-1', accessKeyId: s3rver, secretAccessKey: s3rver });
}

/** Scratch databases a drill left on the server (none, ever). */
async function drillDatabases(): Promise<string[]> {
  const admin = await pg('postgres', superuser, 'postgres');
  try {
    const r = await admin.query<{ d: string }>(
      "SELECT datname AS d FROM pg_database WHERE datname LIKE 'odp_drill_%'",
    );
    return r.rows.map((x) => x.d);
  } finally {
    await admin.end();
  }
}

/** prod's data: partners, users, attachments in its bucket, marabunta at 10.0.0; and a stand-in unit. */
async function fillProd(): Promise<void> {
  const prov = await odp(['provision', tp.project, 'prod', '--json']);
  assert.equal(prov.code, 0, prov.stderr);
  ({ role, database } = JSON.parse(prov.stdout) as { role: string; database: string });
  const s3 = storage();
  const keys: string[] = [];
  try {
    for (const body of [Buffer.from('invoice.pdf'), randomBytes(2048)]) {
      const key = createHash('sha1').update(body).digest('hex');
      await s3.putObject(bucketName(), key, body);
      keys.push(key);
    }
  } finally {
    s3.close();
  }
  const db = await pg(role, dbPassword, database);
  try {
    await db.query(`
      CREATE TABLE res_partner (id serial PRIMARY KEY, name text);
      CREATE TABLE res_users (id serial PRIMARY KEY, login text, password text);
      CREATE TABLE ir_attachment (id serial PRIMARY KEY, name text, checksum text, store_fname text, db_datas bytea);
      CREATE TABLE marabunta_version (number varchar PRIMARY KEY, date_start timestamp, date_done timestamp, log text, addons text);
      INSERT INTO res_partner (name) SELECT 'partner ' || n FROM generate_series(1, 250) n;
      INSERT INTO res_users (login) VALUES ('admin'), ('jane');
      INSERT INTO marabunta_version VALUES ('setup', now(), now(), '', ''), ('10.0.0', now(), now(), '', '');
    `);
    for (const key of keys) {
      await db.query('INSERT INTO ir_attachment (name, store_fname) VALUES ($1, $2)', [
        key,
        `s3://${bucketName()}/${key}`,
      ]);
    }
  } finally {
    await db.end();
  }
  // Seen by the engine as prod's Odoo: the scheduled drill runs only for a deployed instance.
  const c = await docker.createContainer({
    name: `${tp.project}-odoo-prod-odoo-1`,
    Image: 'odp/debian:bookworm',
    Cmd: ['bash', '-c', 'trap "exit 0" TERM; while :; do sleep 0.5; done'],
    Labels: {
      'odp.platform': tp.platform,
      'odp.project': tp.project,
      'odp.instance': 'prod',
      'odp.service': 'odoo',
      'odp.replica': '1',
    },
  });
  await c.start();
}

test(
  'a drill of a good backup passes; of a corrupted one fails, and the scheduled job alerts',
  { timeout: 900_000 },
  async () => {
    await fillProd();
    const backup = await odp(['backup', tp.project, 'prod', '--json']);
    assert.equal(backup.code, 0, backup.stderr);
    const made = JSON.parse(backup.stdout) as { id: string; manifest: { rowCounts: Record<string, number> } };
    assert.deepEqual(made.manifest.rowCounts, { ir_attachment: 2, res_partner: 250, res_users: 2 });

    const good = await odp(['drill', tp.project, '--json']);
    assert.equal(good.code, 0, good.stderr + good.stdout);
    const r = JSON.parse(good.stdout) as DrillRecord;
    assert.equal(r.outcome, 'passed');
    assert.equal(r.instance, 'prod');
    assert.equal(r.backup, made.id);
    assert.deepEqual(
      r.phases.map((p) => [p.name, p.outcome]),
      [
        ['choose', 'passed'],
        ['restore', 'passed'],
        ['row-counts', 'passed'],
        ['attachments', 'passed'],
        ['odoo', 'passed'],
        ['drop', 'passed'],
      ],
    );
    assert.deepEqual(r.counts?.actual, made.manifest.rowCounts);
    assert.deepEqual(r.attachments, { referenced: 2, missing: [], outsideObjectStorage: 0 });
    assert.equal(r.image, `${tp.image}:10.0.0`);
    assert.ok(r.dataAgeSeconds !== null && r.dataAgeSeconds >= 0 && r.seconds > 0);
    console.log(
      `good drill: ${r.seconds} s (${r.phases.map((p) => `${p.name} ${p.seconds} s`).join(', ')}), data ${r.dataAgeSeconds} s old, counts ${JSON.stringify(r.counts?.actual)}`,
    );
    assert.deepEqual(await drillDatabases(), []);

    // The dump overwritten with as many other bytes: it reads back whole, and is not the one backed up.
    const s3 = storage();
    try {
      const key = `${tp.project}/prod/${made.id}/db.dump`;
      let size = 0;
      for await (const o of s3.keys(`${tp.platform}-backups`)) if (o.key === key) size = o.size;
      await s3.putObject(`${tp.platform}-backups`, key, randomBytes(size));
    } finally {
      s3.close();
    }
    const bad = await odp(['drill', tp.project]);
    assert.equal(bad.code, 1, bad.stderr + bad.stdout);
    assert.match(
      bad.stderr,
      new RegExp(`restore drill of ${tp.project}/prod \\(backup ${made.id}\\) failed: restore: `),
    );
    assert.match(bad.stdout, /row-counts\s+skipped/);
    console.log(`corrupted drill: ${bad.stderr.split('\n').find((l) => l.includes('failed: restore'))}`);
    assert.deepEqual(await drillDatabases(), []);

    const key = `restore-drill:${tp.project}`;
    const run = await odp(['schedule', 'run', key]);
    assert.equal(run.code, 1, run.stderr + run.stdout);
    assert.match(run.stdout, new RegExp(`${key}: failed: restore drill of ${tp.project}/prod`));
    const listed = await odp(['schedule', '--json']);
    const job = (
      JSON.parse(listed.stdout) as {
        jobs: { key: string; failuresInARow: number; last?: { outcome: string } }[];
      }
    ).jobs.find((j) => j.key === key);
    assert.deepEqual([job?.last?.outcome, job?.failuresInARow], ['failed', 1]);

    const db = openState(tp.dir);
    try {
      const jobs = () =>
        platformJobs({ engine, dir: tp.dir, edge: {} as EdgeControl, renewEveryMs: 3_600_000 });
      const metrics = scheduleMetrics(new ScheduleRunner({ db, jobs }));
      await metrics.refresh();
      const text = await metrics.registry.metrics();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('odp_scheduled_job_failures_in_a_row') && l.includes(key));
      assert.equal(line, `odp_scheduled_job_failures_in_a_row{job_key="${key}",kind="restore-drill"} 1`);
      console.log(`metric: ${line}`);
    } finally {
      db.close();
    }
    const history = await odp(['drills', tp.project, '--json']);
    const drills = (JSON.parse(history.stdout) as { drills: { outcome: string }[] }).drills;
    assert.deepEqual(
      drills.map((d) => d.outcome),
      ['failed', 'failed', 'passed'],
    );
  },
);
