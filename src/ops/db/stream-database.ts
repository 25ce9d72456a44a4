// `odp db clone`'s copy of the database: pg_dump in prod's PostgreSQL
// container streamed into pg_restore in integration's, through the engine's
// exec, with backpressure: never written to disk, never held in memory.
// Passwords travel in the exec's environment, never on a command line.
import { randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import { OWN_SERVER_ARGS, type PgClient } from '../../backends/postgres/index.js';
import type { Engine, ExecResult } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import type { TierServer } from './db-server.js';

/**
 * pg_dump in the source server's container, its output fed to pg_restore in
 * the target's. Returns the bytes streamed. When either side fails, the other
 * is ended too: the dump's session on prod is terminated, the restore reads
 * end of file and (one transaction) leaves nothing behind.
 */
export async function streamDatabase(
  engine: Engine,
  prodAdmin: PgClient,
  o: { source: TierServer; target: TierServer; from: string; to: string; role: string },
): Promise<number> {
  // Lets odp find (and end) the dump's session on prod if the restore fails.
  const appName = `odp-clone-${randomBytes(6).toString('hex')}`;
  let bytes = 0;
  const counter = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  let dumpSettled = false;
  const dump = engine
    .exec(o.source.unit, ['pg_dump', '--format=custom', ...OWN_SERVER_ARGS, `--dbname=${o.from}`], {
      env: { PGPASSWORD: o.source.superuser.reveal(), PGAPPNAME: appName },
      stdout: counter,
    })
    .finally(() => (dumpSettled = true));
  const restore = engine.exec(
    o.target.unit,
    [
      'pg_restore',
      '--no-owner',
      '--no-privileges',
      `--role=${o.role}`,
      '--single-transaction',
      '--exit-on-error',
      ...OWN_SERVER_ARGS,
      `--dbname=${o.to}`,
    ],
    { env: { PGPASSWORD: o.target.superuser.reveal(), PGAPPNAME: appName }, stdin: counter },
  );
  // The restore ended first (it failed): the dump has nobody to write to any more.
  const stopDump = restore
    .then(
      () => undefined,
      () => undefined,
    )
    .then(async () => {
      if (dumpSettled) return;
      await prodAdmin
        .query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
          appName,
        ])
        .catch(() => undefined);
    });
  const [d, r] = await Promise.allSettled([dump, restore]);
  await stopDump;
  const failed = (what: string, x: PromiseSettledResult<ExecResult>): OdpError | undefined => {
    if (x.status === 'rejected') {
      const m = x.reason instanceof Error ? x.reason.message : String(x.reason);
      return new OdpError('ENGINE', `${what} failed: ${m}`, { cause: x.reason });
    }
    if (x.value.exitCode === 0) return undefined;
    return new OdpError('ENGINE', `${what} failed with exit code ${x.value.exitCode}`, {
      ...(x.value.stderr.trim() ? { detail: x.value.stderr.trim().split('\n').slice(-15).join('\n') } : {}),
    });
  };
  const dumpError = failed(`pg_dump of ${o.from} on ${o.source.service}`, d);
  const restoreError = failed(`pg_restore into ${o.to} on ${o.target.service}`, r);
  // Which failure is the cause: a dump that exited non-zero by itself (the restore
  // then only read a truncated end), else the restore (the dump then lost its reader).
  const error = d.status === 'fulfilled' && dumpError ? dumpError : (restoreError ?? dumpError);
  if (error) throw error;
  return bytes;
}
