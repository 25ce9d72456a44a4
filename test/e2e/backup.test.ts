// Issue 5's backups end to end, through the CLI on a real engine: a platform of
// its own (the example under a unique name, embedded S3 on a free port, the edge
// on free loopback ports), prod provisioned, data written as the instance's role
// (rows, a table big enough for a multipart upload, marabunta's versions) and
// attachment objects put in its bucket; `odp backup`, `odp backups`, the data
// damaged, `odp restore`, and the same rows and bytes back. Stand-in Odoo units
// (an "odoo" and its sidecar in its network namespace) must be stopped during a
// restore and running after it. Retention with keep 2; a wrong backup id, and a
// backup whose dump pg_restore refuses, change nothing. Everything labelled
// with the test platform is removed in `after`, pass or fail.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { connect, type PgClient } from '../../src/backends/postgres/index.js';
import { ObjectStorage } from '../../src/backends/s3/index.js';
import { sharedUnit } from '../../src/compose/platform.js';
import type { BackupManifest } from '../../src/ops/backup/backup.js';
import { Bucket } from '../../src/backends/s3/bucket.js';
import { platformUp } from '../../src/ops/platform/platform.js';
import { platformSecrets } from '../../src/ops/secrets/platform-secrets.js';
import { silentProgress } from '../../src/progress.js';
import { loadProjectSecrets } from '../../src/ops/secrets/secrets.js';
import { Secret } from '../../src/secret.js';
import { withEdgeAndStorage } from '../helpers/edge.js';
import {
  assertRanAsPlanned,
  cleanUp,
  docker,
  engine,
  makePlatform,
  operations,
  runCli,
  setUp,
  uniqueName,
  type PlanJson,
  type TestPlatform,
} from './helpers.js';

let tp: TestPlatform;
let s3Port = 0;
let stack = '';
let bucketName = '';
let role = '';
let database = '';
let dbPassword: Secret;
let superuser: Secret;
const s3rver = new Secret('S3RVER');
/** Attachment contents by their sha1 key. */
const attachments = new Map<string, Buffer>();
let firstBackup = '';

const odp = (args: string[], timeoutMs = 300_000) => runCli(['--dir', tp.dir, ...args], { timeoutMs });
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

before(async () => {
  await setUp();
  const project = uniqueName('e2ebak');
  tp = await makePlatform(project);
  stack = `${project}-odoo-prod`;
  bucketName = stack;
  ({ s3Port } = await withEdgeAndStorage(tp, { change: (p) => (p.backups = { keep: 2 }) }));
  await platformUp(engine, tp.dir, { progress: silentProgress });
  superuser = (await platformSecrets(tp.dir, { generate: false })).values.get('POSTGRES_PASSWORD')!;
  dbPassword = (await loadProjectSecrets(tp.dir, project, {}))!.get('PROD__DB_PASSWORD')!;
});

after(async () => {
  await cleanUp();
});

async function pgPort(): Promise<number> {
  const info = await docker.getContainer(sharedUnit({ name: tp.platform }, 'postgres-prod')).inspect();
  return Number(info.NetworkSettings.Ports['5432/tcp']?.[0]?.HostPort);
}

async function asRole(): Promise<PgClient> {
  return connect({ host: '127.0.0.1', port: await pgPort(), user: role, password: dbPassword, database });
}

async function asSuperuser(db = 'postgres'): Promise<PgClient> {
  return connect({
    host: '127.0.0.1',
    port: await pgPort(),
    user: 'postgres',
    password: superuser,
    database: db,
  });
}

function storage(): ObjectStorage {
  return new ObjectStorage({
    endpoint: `http://127.0.0.1:${s3Port}`,
    region: 'us-east-1',
    accessKeyId: s3rver,
    secretAccessKey: s3rver,
  });
}

async function keysOf(bucket: string, prefix = ''): Promise<string[]> {
  const s = storage();
  try {
    const out: string[] = [];
    for await (const o of s.keys(bucket)) if (o.key.startsWith(prefix)) out.push(o.key);
    return out.sort();
  } finally {
    s.close();
  }
}

/** What the instance holds: its rows, the big table's checksum, its tables. */
async function snapshot(): Promise<{ rows: string; bulk: string; tables: string }> {
  const db = await asRole();
  try {
    const q = async (sql: string) => (await db.query<{ v: string }>(sql)).rows[0]?.v ?? '';
    return {
      rows: await q(
        "SELECT string_agg(id || ':' || name || ':' || store_fname, ',' ORDER BY id) AS v FROM ir_attachment",
      ),
      bulk: await q("SELECT count(*) || ':' || md5(string_agg(v, '' ORDER BY id)) AS v FROM bulk"),
      tables: await q(
        "SELECT string_agg(tablename, ',' ORDER BY tablename) AS v FROM pg_tables WHERE schemaname = 'public'",
      ),
    };
  } finally {
    await db.end();
  }
}

/** A running stand-in for one of the instance's units, labelled as odp labels them. */
async function standIn(service: string, networkMode: string): Promise<string> {
  const name = `${stack}-${service}-1`;
  const c = await docker.createContainer({
    name,
    Image: 'odp/debian:bookworm',
    Cmd: ['bash', '-c', 'trap "exit 0" TERM; while :; do sleep 0.2; done'],
    Labels: {
      'odp.platform': tp.platform,
      'odp.project': tp.project,
      'odp.instance': 'prod',
      'odp.service': service,
      'odp.replica': '1',
    },
    HostConfig: { NetworkMode: networkMode },
  });
  await c.start();
  return name;
}

const startedAt = async (name: string) => {
  const s = (await docker.getContainer(name).inspect()).State;
  return { running: s.Running, at: s.StartedAt };
};

function assertNoSecrets(...outputs: string[]): void {
  for (const out of outputs) {
    for (const s of [superuser, dbPassword])
      assert.ok(!out.includes(s.reveal()), 'a secret reached the output');
  }
}

test(
  'backup, list, damage, restore: the same rows and the same attachment bytes come back',
  { timeout: 900_000 },
  async () => {
    const prov = await odp(['provision', tp.project, 'prod', '--json']);
    assert.equal(prov.code, 0, prov.stderr);
    ({ role, database } = JSON.parse(prov.stdout) as { role: string; database: string });

    // Attachments as attachment_s3 keeps them: content-addressed, flat, rows pointing at them.
    const s3 = storage();
    for (const body of [Buffer.from('hello attachments'), randomBytes(300_000), randomBytes(1024)]) {
      attachments.set(sha1(body), body);
      await s3.putObject(bucketName, sha1(body), body);
    }
    s3.close();
    const db = await asRole();
    await db.query('CREATE TABLE ir_attachment (id serial PRIMARY KEY, name text, store_fname text)');
    let n = 0;
    for (const key of attachments.keys())
      await db.query('INSERT INTO ir_attachment (name, store_fname) VALUES ($1, $2)', [
        `file-${++n}`,
        `s3://${bucketName}/${key}`,
      ]);
    // Large enough that its dump goes up in several parts.
    await db.query(
      'CREATE TABLE bulk AS SELECT g AS id, md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 700000) g',
    );
    await db.query(
      'CREATE TABLE marabunta_version (number varchar PRIMARY KEY, date_start timestamp, date_done timestamp, log text, addons text)',
    );
    await db.query(
      "INSERT INTO marabunta_version VALUES ('10.0.0', now(), now(), '', ''), ('10.0.10', now(), now(), '', ''), ('10.0.9', now(), now(), '', ''), ('10.1.0', now(), NULL, '', '')",
    );
    await db.end();
    const before = await snapshot();

    const backup = await odp(['backup', tp.project, 'prod', '--json']);
    assert.equal(backup.code, 0, backup.stderr);
    const made = JSON.parse(backup.stdout) as {
      id: string;
      bucket: string;
      manifest: {
        imageVersion: string;
        database: string;
        dump: { bytes: number };
        attachments: { objects: number; bytes: number };
      };
    };
    firstBackup = made.id;
    assert.match(made.id, /^\d{8}T\d{6}Z$/);
    assert.equal(made.bucket, `${tp.platform}-backups`);
    assert.equal(made.manifest.imageVersion, '10.0.10');
    assert.equal(made.manifest.database, database);
    assert.equal(made.manifest.attachments.objects, attachments.size);
    assert.ok(made.manifest.dump.bytes > 16 * 1024 * 1024, `dump of ${made.manifest.dump.bytes} bytes`);
    assert.deepEqual(
      await keysOf(made.bucket, `${tp.project}/prod/${made.id}/`),
      [
        ...[...attachments.keys()].map((k) => `${tp.project}/prod/${made.id}/attachments/${k}`),
        `${tp.project}/prod/${made.id}/db.dump`,
        `${tp.project}/prod/${made.id}/manifest.json`,
      ].sort(),
    );

    const list = await odp(['backups', tp.project, 'prod', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout) as { backups: { id: string; complete: boolean; bytes: number }[] };
    assert.deepEqual(
      listed.backups.map((b) => [b.id, b.complete]),
      [[made.id, true]],
    );
    assert.ok(listed.backups[0]!.bytes > made.manifest.dump.bytes);

    // Damage: rows and a table gone, a table added, every attachment object deleted.
    const d = await asRole();
    await d.query('DELETE FROM ir_attachment');
    await d.query('DROP TABLE bulk');
    await d.query('CREATE TABLE written_after_backup (x int)');
    await d.end();
    const backend = new Bucket(
      {
        endpoint: `http://127.0.0.1:${s3Port}`,
        region: 'us-east-1',
        accessKeyId: s3rver,
        secretAccessKey: s3rver,
      },
      bucketName,
    );
    assert.equal(await backend.deletePrefix(''), attachments.size);
    backend.close();

    // Units of the instance that must stop during the restore, and run again after it.
    const odoo = await standIn('odoo', 'none');
    const nginx = await standIn('nginx', `container:${odoo}`);
    const startedBefore = await Promise.all([startedAt(odoo), startedAt(nginx)]);
    // A session someone left open on the database: the restore closes it.
    const open = await asRole();
    open.on('error', () => undefined);

    // The dry run: the plan the restore runs, nothing asked, locked or changed.
    const tables = async () => {
      const c = await asRole();
      const r = await c.query<{ t: string }>(
        "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'",
      );
      await c.end();
      return r.rows.map((x) => x.t).sort();
    };
    const damaged = await tables();
    assert.ok(damaged.includes('written_after_backup'));
    const recorded = (await operations(tp.dir, tp.project, 'prod')).length;
    const dry = await odp(['restore', tp.project, 'prod', made.id, '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    const { plan } = JSON.parse(dry.stdout) as { plan: PlanJson };
    assert.deepEqual(
      plan.steps.map((x) => x.id.replace(/:.*/, '')),
      [
        ...['stop-unit', 'stop-unit', 'copy-attachments', 'create-database', 'restore-dump'],
        ...['swap-database', 'drop-database', 'start-unit', 'start-unit'],
      ],
    );
    assert.deepEqual(
      plan.steps.filter((x) => x.kind === 'stop-unit').map((x) => x.id),
      [`stop-unit:${stack}-nginx-1`, `stop-unit:${stack}-odoo-1`],
      'the sidecar first',
    );
    const text = await odp(['restore', tp.project, 'prod', made.id, '--dry-run']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`#5 restore-dump backup ${made.id} into odp_restore_\\w+ on postgres-prod`),
    );
    assert.match(text.stderr, /dry run: nothing changed/);
    assert.deepEqual(await tables(), damaged);
    assert.deepEqual(await keysOf(bucketName), [], 'no attachment copied back');
    assert.deepEqual(
      await Promise.all([startedAt(odoo), startedAt(nginx)]),
      startedBefore,
      'no unit stopped',
    );
    assert.equal((await operations(tp.dir, tp.project, 'prod')).length, recorded, 'nothing recorded');
    assertNoSecrets(dry.stdout, dry.stderr, text.stdout);

    // Without the stack name typed out, nothing happens.
    const unconfirmed = await odp(['restore', tp.project, 'prod', made.id, '--yes']);
    assert.equal(unconfirmed.code, 2, unconfirmed.stderr);
    assert.match(unconfirmed.stderr, new RegExp(`--confirm ${stack}`));

    const restore = await odp(['restore', tp.project, 'prod', made.id, '--yes', '--confirm', stack]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stdout, new RegExp(`restored ${tp.project}/prod from ${made.id}`));
    // Recorded in the instance's history, like a deploy: the dry run's steps, each by kind and id.
    const [op] = await operations(tp.dir, tp.project, 'prod');
    assert.deepEqual([op?.kind, op?.outcome], ['restore', 'succeeded']);
    assertRanAsPlanned(op!, plan);
    assertNoSecrets(backup.stdout, backup.stderr, list.stdout, restore.stdout, restore.stderr);

    assert.deepEqual(await snapshot(), before);
    for (const [key, body] of attachments) {
      const s = storage();
      assert.ok((await s.getObject(bucketName, key)).equals(body), `attachment ${key}`);
      s.close();
    }
    // Owned by the role, CONNECT still only for it, no scratch database left behind.
    const admin = await asSuperuser();
    const owner = await admin.query<{ owner: string; pub: boolean; own: boolean }>(
      `SELECT pg_get_userbyid(datdba) AS owner, has_database_privilege('public', datname, 'CONNECT') AS pub,
            has_database_privilege($2, datname, 'CONNECT') AS own FROM pg_database WHERE datname = $1`,
      [database, role],
    );
    assert.deepEqual(owner.rows[0], { owner: role, pub: false, own: true });
    const leftovers = await admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'odp\\_%'");
    assert.equal(leftovers.rowCount, 0);
    await admin.end();
    await assert.rejects(open.query('SELECT 1'));
    await open.end().catch(() => undefined);
    // Stopped, then started again.
    const startedAfter = await Promise.all([startedAt(odoo), startedAt(nginx)]);
    for (const [i, s] of startedAfter.entries()) {
      assert.equal(s.running, true);
      assert.notEqual(s.at, startedBefore[i]!.at);
    }
  },
);

test('a wrong backup id fails cleanly and changes nothing', { timeout: 300_000 }, async () => {
  const before = await snapshot();
  const units = [`${stack}-odoo-1`, `${stack}-nginx-1`];
  const startedBefore = await Promise.all(units.map(startedAt));

  const unknown = await odp(['restore', tp.project, 'prod', '20000101T000000Z', '--yes', '--confirm', stack]);
  assert.equal(unknown.code, 7, unknown.stderr);
  assert.match(unknown.stderr, /no backup 20000101T000000Z/);
  const malformed = await odp(['restore', tp.project, 'prod', '../../etc', '--yes', '--confirm', stack]);
  assert.equal(malformed.code, 2, malformed.stderr);
  assert.match(malformed.stderr, /not a backup id/);

  assert.deepEqual(await snapshot(), before);
  assert.deepEqual(await Promise.all(units.map(startedAt)), startedBefore);
});

test('retention: with keep 2, three backups leave the newest two', { timeout: 600_000 }, async () => {
  const ids = [firstBackup];
  const second = await odp(['backup', tp.project, 'prod', '--json']);
  assert.equal(second.code, 0, second.stderr);
  const made = JSON.parse(second.stdout) as {
    id: string;
    deleted: string[];
    manifest: { attachments: { objects: number; reused: number } };
  };
  ids.push(made.id);
  // Attachments the previous backup holds are copied from there.
  assert.equal(made.manifest.attachments.reused, attachments.size);
  assert.deepEqual(made.deleted, []);
  // The third as people see it: progress on stderr, a summary on stdout.
  const third = await odp(['backup', tp.project, 'prod']);
  assert.equal(third.code, 0, third.stderr);
  ids.push(/^backed up \S+ as (\S+)$/m.exec(third.stdout)?.[1] ?? '');
  assert.match(third.stdout, new RegExp(`^  deleted\\s+${firstBackup} `, 'm'));
  assert.match(third.stderr, new RegExp(`ok {2}dumped ${database}: \\d+ MiB`));
  assert.match(third.stderr, new RegExp(`ok {2}deleted ${firstBackup}`));
  assertNoSecrets(second.stdout, third.stdout, third.stderr);
  assert.equal(new Set(ids).size, 3);
  const list = await odp(['backups', tp.project, 'prod', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const listed = JSON.parse(list.stdout) as { backups: { id: string }[] };
  assert.deepEqual(
    listed.backups.map((b) => b.id),
    [ids[2], ids[1]],
  );
  assert.deepEqual(await keysOf(`${tp.platform}-backups`, `${tp.project}/prod/${firstBackup}/`), []);
  const human = await odp(['backups', tp.project, 'prod']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`^${ids[2]}\\s+\\S+ \\S+\\s+\\S+ ago\\s+3 attachments`, 'm'));
});

test(
  'a dump pg_restore refuses: the database is not changed, the units run again',
  { timeout: 300_000 },
  async () => {
    const before = await snapshot();
    const units = [`${stack}-odoo-1`, `${stack}-nginx-1`];
    // A backup whose dump is not a pg_dump archive (its manifest consistent with it).
    const latest = (
      JSON.parse((await odp(['backups', tp.project, 'prod', '--json'])).stdout) as {
        backups: { id: string }[];
      }
    ).backups[0]!.id;
    const bucket = new Bucket(
      {
        endpoint: `http://127.0.0.1:${s3Port}`,
        region: 'us-east-1',
        accessKeyId: s3rver,
        secretAccessKey: s3rver,
      },
      `${tp.platform}-backups`,
    );
    const bad = '20010101T000000Z';
    const garbage = randomBytes(4096);
    try {
      const manifest = await bucket.readJson<BackupManifest>(`${tp.project}/prod/${latest}/manifest.json`);
      manifest.id = bad;
      manifest.dump = {
        ...manifest.dump,
        bytes: garbage.length,
        sha256: createHash('sha256').update(garbage).digest('hex'),
      };
      await bucket.upload(`${tp.project}/prod/${bad}/db.dump`, [garbage]);
      await bucket.writeJson(`${tp.project}/prod/${bad}/manifest.json`, manifest);

      const r = await odp(['restore', tp.project, 'prod', bad, '--yes', '--confirm', stack]);
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, /failed while restoring the dump \(pg_restore\): pg_restore exited with code 1/);
      assert.match(r.stderr, new RegExp(`The database ${database} was not changed`));
      assertNoSecrets(r.stdout, r.stderr);
    } finally {
      await bucket.deletePrefix(`${tp.project}/prod/${bad}/`);
      bucket.close();
    }
    assert.deepEqual(await snapshot(), before);
    for (const u of units) assert.equal((await startedAt(u)).running, true);
    const admin = await asSuperuser();
    const leftovers = await admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'odp\\_%'");
    await admin.end();
    assert.equal(leftovers.rowCount, 0);
  },
);
