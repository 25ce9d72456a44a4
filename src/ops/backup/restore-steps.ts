// The steps of `odp restore` that touch the data: the attachment objects a
// bucket lacks copied back, the dump streamed into pg_restore in the tier's
// PostgreSQL container, and the swap of the restored database for the
// instance's in one transaction.
import { createHash } from 'node:crypto';
import { Transform, pipeline } from 'node:stream';
import { OWN_SERVER_ARGS, quoteIdent, sqlState, type PgClient } from '../../backends/postgres/index.js';
import { inParallel, type Bucket, type StoredObject } from '../../backends/s3/bucket.js';
import type { Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import {
  pgToolEnv,
  postgresUnit,
  superuserPassword,
  toolOutput,
  type BackupLocation,
  type BackupManifest,
} from './backup.js';

/** Copies the backup's attachment objects that `target` lacks, counting into `done` as it goes. */
export async function copyMissing(
  bucket: Bucket,
  prefix: string,
  target: Bucket,
  region: string,
  done: { copied: number; bucketCreated: boolean },
): Promise<void> {
  const wanted: StoredObject[] = [];
  for await (const o of bucket.list(prefix)) wanted.push(o);
  if (wanted.length === 0) return;
  done.bucketCreated = (await target.ensure(region)) === 'created';
  const have = new Set<string>();
  if (!done.bucketCreated) for await (const o of target.list()) have.add(o.key);
  const missing = wanted.filter((o) => !have.has(o.key.slice(prefix.length)));
  await inParallel(missing, async (o) => {
    await target.copyFrom(bucket, o, o.key.slice(prefix.length));
    done.copied += 1;
  });
}

/**
 * Feeds the dump to pg_restore in the tier's container, into `scratch`, as the
 * instance's role; checks the bytes fed against the manifest's SHA-256.
 */
export async function streamRestore(
  engine: Engine,
  loc: BackupLocation,
  manifest: BackupManifest,
  base: string,
  scratch: string,
  password: ReturnType<typeof superuserPassword>,
): Promise<void> {
  const { body } = await loc.bucket.read(`${base}${manifest.dump.key}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  // The download stops when pg_restore stops reading (it failed): nothing dangles.
  pipeline(body, counted, () => undefined);
  let r;
  try {
    r = await engine.exec(
      postgresUnit(loc),
      [
        'pg_restore',
        ...OWN_SERVER_ARGS,
        `--dbname=${scratch}`,
        '--no-owner',
        `--role=${loc.inst.dbUser}`,
        '--exit-on-error',
      ],
      { env: pgToolEnv(password), user: 'postgres', stdin: counted },
    );
  } finally {
    body.destroy();
  }
  if (r.exitCode !== 0) {
    throw new OdpError(
      'ENGINE',
      `pg_restore exited with code ${r.exitCode}: ${toolOutput(r.stderr, [password])}`,
    );
  }
  const sha256 = hash.digest('hex');
  if (bytes !== manifest.dump.bytes || sha256 !== manifest.dump.sha256) {
    throw new OdpError(
      'ENGINE',
      `the dump read back (${bytes} bytes, sha256 ${sha256.slice(0, 12)}…) is not the one backed up (${manifest.dump.bytes} bytes, ${manifest.dump.sha256.slice(0, 12)}…)`,
    );
  }
}

/**
 * Renames `database` to `replaced` (null: there is none to rename) and
 * `scratch` to its name, in one transaction, after closing every connection
 * to it.
 */
export async function swap(
  admin: PgClient,
  o: { database: string; scratch: string; replaced: string | null },
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    // Wait (up to 5 s each) for every session on it to end, Odoo's and anyone else's.
    await admin.query(
      'SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [o.database],
    );
    try {
      await admin.query('BEGIN');
      if (o.replaced) {
        await admin.query(`ALTER DATABASE ${quoteIdent(o.database)} RENAME TO ${quoteIdent(o.replaced)}`);
      }
      await admin.query(`ALTER DATABASE ${quoteIdent(o.scratch)} RENAME TO ${quoteIdent(o.database)}`);
      await admin.query('COMMIT');
      return;
    } catch (e) {
      await admin.query('ROLLBACK').catch(() => undefined);
      // 55006: someone connected again in between; close them again.
      if (sqlState(e) !== '55006' || attempt >= 5) throw e;
    }
  }
}
