// `odp db clone PROJECT --from prod --to integration`: the customer's data in
// integration, to try a release on it. prod's database is dumped inside its
// PostgreSQL container (`pg_dump -Fc`) and restored inside the integration
// server's (`pg_restore --no-owner --role=<integration role>`) through the
// engine's exec, the dump streamed from one to the other with backpressure:
// never written to disk, never held in memory. Passwords travel in the exec's
// environment, never on a command line. Attachments are copied bucket to
// bucket, server-side. Then the copy is neutralized, and the gate refuses to
// start the instance while any outgoing mail server or scheduled action is
// still active. prod is only read: nothing is ever cloned into it.
import { randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import { resolveInstance } from '../../compose/instance.js';
import { pgError } from '../../backends/postgres/client.js';
import { OWN_SERVER_ARGS, type PgClient } from '../../backends/postgres/index.js';
import { ObjectStorage } from '../../backends/s3/index.js';
import type { Engine, ExecResult } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import { loadPlatformDir, requireProject } from '../../platformdir/load.js';
import type { Secret } from '../../secret.js';
import { secretsForInstance } from '../../secrets/scope.js';
import { withInstanceLock } from '../../state/lock.js';
import {
  connectAdmin,
  recreateDatabase,
  requireRole,
  runningUnits,
  startUnits,
  stopUnits,
  tierServer,
  withHint,
  type TierServer,
} from './db-reset.js';
import { neutralize, verifyNeutralized, type NeutralityCheck, type NeutralizeResult } from './neutralize.js';
import { platformSecrets } from '../secrets/platform-secrets.js';
import type { Progress } from '../../progress.js';
import { loadProjectSecrets } from '../secrets/secrets.js';

export interface CloneResult {
  project: string;
  from: 'prod';
  to: 'integration';
  source: { server: string; database: string; bucket: string };
  target: { server: string; database: string; role: string; bucket: string; domain: string };
  /** Bytes of the custom-format dump streamed from prod's server into integration's. */
  dumpBytes: number;
  /** Sessions open on the old integration database, terminated. */
  terminated: number;
  objects: { copied: number; bytes: number };
  /** Rows changed per table (null: the database has no such table). */
  neutralized: NeutralizeResult;
  verification: NeutralityCheck;
  stopped: string[];
  restarted: string[];
}

/** Refuses, before anything is asked or touched, what `db clone` never does. */
export function assertClonable(project: string, from: string, to: string): void {
  if (to === 'prod') {
    throw new OdpError(
      'USAGE',
      `refusing to clone into prod: the prod database of ${project} is never overwritten`,
      {
        hint: `odp db clone ${project} --from prod --to integration`,
      },
    );
  }
  if (to === 'test') {
    throw new OdpError(
      'USAGE',
      `the test instance of ${project} runs its own database with the small data set`,
      {
        hint: `Clone into integration: odp db clone ${project} --from prod --to integration`,
      },
    );
  }
  if (to !== 'integration') throw new OdpError('USAGE', `unknown instance "${to}" for --to`);
  if (from !== 'prod') {
    throw new OdpError('USAGE', `--from ${from}: only prod's data is cloned (into integration)`, {
      hint: `odp db clone ${project} --from prod --to integration`,
    });
  }
}

export async function cloneDatabase(
  engine: Engine,
  dir: string,
  projectName: string,
  o: { from: string; to: string; passphraseFile?: string; progress: Progress },
): Promise<CloneResult> {
  assertClonable(projectName, o.from, o.to);
  const { progress } = o;
  const pd = await loadPlatformDir(dir);
  const project = requireProject(pd, projectName).spec;
  const prod = resolveInstance(pd.platform, project, 'prod');
  const integration = resolveInstance(pd.platform, project, 'integration');
  const platform = await platformSecrets(dir, { passphraseFile: o.passphraseFile, generate: false });
  const all = await loadProjectSecrets(dir, projectName, { passphraseFile: o.passphraseFile });
  if (!all) throw new OdpError('SECRETS_NO_PASSPHRASE', `no secrets for ${projectName}`);
  // The copy is made by one identity: integration's keys, which must read prod's bucket.
  const keys = secretsForInstance(all, 'integration');
  const need = (k: string): Secret => {
    const s = keys.get(k);
    if (!s) {
      throw new OdpError('NOT_FOUND', `${projectName}/integration has no ${k}`, {
        hint: `odp secrets set ${projectName} ${k} --instance integration --stdin`,
      });
    }
    return s;
  };
  const storage = pd.platform.services.storage;
  const s3 = new ObjectStorage({
    endpoint: storage.endpoint,
    region: storage.region,
    accessKeyId: need('AWS_ACCESS_KEY_ID'),
    secretAccessKey: need('AWS_SECRET_ACCESS_KEY'),
  });
  const fromBucket = prod.bucket!;
  const toBucket = integration.bucket!;
  const clients: PgClient[] = [];
  const admin = async (server: TierServer, database?: string) => {
    const c = await connectAdmin(server, database);
    clients.push(c);
    return c;
  };

  try {
    // Everything that can be checked is, before integration loses anything.
    progress.start('check', 'check the source and the target');
    let source: TierServer;
    let target: TierServer;
    let prodAdmin: PgClient;
    let intAdmin: PgClient;
    try {
      source = await tierServer(engine, pd, 'prod', platform.values);
      target = await tierServer(engine, pd, 'integration', platform.values);
      prodAdmin = await admin(source);
      const found = await prodAdmin
        .query('SELECT 1 FROM pg_database WHERE datname = $1', [prod.database])
        .catch((e: unknown) => {
          throw pgError(`cannot look up ${prod.database}`, e);
        });
      if (found.rowCount !== 1) {
        throw new OdpError(
          'NOT_FOUND',
          `the prod database ${prod.database} does not exist on ${source.service}`,
          {
            hint: `Nothing was changed; there is nothing to clone yet (odp provision ${projectName} prod creates it).`,
          },
        );
      }
      intAdmin = await admin(target);
      await requireRole(intAdmin, integration.dbUser, projectName, 'integration');
      const listing = s3.keys(fromBucket);
      await listing.next();
      await listing.return(undefined);
    } catch (e) {
      progress.fail('check', e instanceof Error ? e.message : String(e));
      throw e;
    }
    progress.done(
      'check',
      `${prod.database} on ${source.service} → ${integration.database} on ${target.service}`,
    );

    return await withInstanceLock(
      dir,
      `${projectName}-integration`,
      { wait: true, onWait: (h) => progress.note(`waiting for ${h}`) },
      async () => {
        const stopped = await stopUnits(
          engine,
          await runningUnits(engine, pd, projectName, 'integration'),
          progress,
        );
        let step = '';
        const begin = (key: string, text: string) => {
          step = key;
          progress.start(key, text);
        };
        try {
          begin('recreate', `drop and recreate ${integration.database} on ${target.service}`);
          const { terminated } = await recreateDatabase(intAdmin, {
            database: integration.database,
            role: integration.dbUser,
          });
          progress.done('recreate');

          begin('copy-db', `stream ${prod.database} (pg_dump) into ${integration.database} (pg_restore)`);
          const dumpBytes = await streamDatabase(engine, prodAdmin, {
            source,
            target,
            from: prod.database,
            to: integration.database,
            role: integration.dbUser,
          });
          progress.done(
            'copy-db',
            `restored ${integration.database} (${formatBytes(dumpBytes)} dump streamed)`,
          );

          begin('copy-files', `copy attachments ${fromBucket} → ${toBucket}`);
          const objects = await s3.copyBucket(fromBucket, toBucket);
          progress.done('copy-files', `copied ${objects.copied} object(s), ${formatBytes(objects.bytes)}`);

          begin('neutralize', `neutralize ${integration.database}`);
          const db = await admin(target, integration.database);
          const neutralized = await neutralize(db, { domain: integration.domain });
          progress.done('neutralize');

          begin('verify', 'verify: no outgoing mail server, fetchmail or scheduled action active');
          const verification = await verifyNeutralized(db);
          progress.done('verify');
          step = '';

          const { started, failed } = await startUnits(engine, stopped, progress);
          if (failed.length > 0) {
            throw new OdpError('ENGINE', `the clone is done, but ${failed.join(', ')} did not start again`, {
              hint: `odp status ${projectName}`,
            });
          }
          return {
            project: projectName,
            from: 'prod' as const,
            to: 'integration' as const,
            source: { server: source.service, database: prod.database, bucket: fromBucket },
            target: {
              server: target.service,
              database: integration.database,
              role: integration.dbUser,
              bucket: toBucket,
              domain: integration.domain,
            },
            dumpBytes,
            terminated,
            objects,
            neutralized,
            verification,
            stopped,
            restarted: started,
          };
        } catch (e) {
          if (!step) throw e;
          progress.fail(step, e instanceof Error ? e.message : String(e));
          // A half-made or unneutralized copy of prod must not run: nothing is started.
          throw withHint(
            e,
            `The integration copy is unfinished: run the clone again, or odp db reset ${projectName} integration.` +
              (stopped.length ? ` ${stopped.join(', ')} stay stopped until then.` : ''),
          );
        }
      },
    );
  } finally {
    s3.close();
    for (const c of clients) await c.end().catch(() => undefined);
  }
}

/**
 * pg_dump in the source server's container, its output fed to pg_restore in
 * the target's. Returns the bytes streamed. When either side fails, the other
 * is ended too: the dump's session on prod is terminated, the restore reads
 * end of file and (one transaction) leaves nothing behind.
 */
async function streamDatabase(
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

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
