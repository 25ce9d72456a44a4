// `odp db clone PROJECT --from prod --to integration`: the customer's data in
// integration, to try a release on it. prod's database is dumped inside its
// PostgreSQL container (`pg_dump -Fc`) and restored inside the integration
// server's (`pg_restore --no-owner --role=<integration role>`) through the
// engine's exec, the dump streamed from one to the other with backpressure:
// never written to disk, never held in memory. Passwords travel in the exec's
// environment, never on a command line. Attachments are copied bucket to
// bucket, server-side. Then the copy is neutralized, and the gate refuses to
// start the instance while any outgoing mail server or scheduled action is
// still active. prod is only read: nothing is ever cloned into it. The steps
// are a plan (plan/data-plans.ts) that --dry-run prints and the shared
// executor runs.
import { resolveInstance, type ResolvedInstance } from '../../compose/instance.js';
import type { PgClient } from '../../backends/postgres/index.js';
import { ObjectStorage } from '../../backends/s3/index.js';
import type { Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import type { DataPlan } from '../../plan/data-ops.js';
import { planClone } from '../../plan/data-plans.js';
import { loadPlatformDir, requireProject } from '../../platformdir/load.js';
import type { Progress } from '../../progress.js';
import type { Secret } from '../../secret.js';
import { secretsForInstance } from '../../secrets/scope.js';
import { lockedUnlessDryRun } from '../../state/lock.js';
import { runDataPlan, unexpectedStep, unstartedError, type DataOpOptions } from '../run-data-plan.js';
import { platformSecrets } from '../secrets/platform-secrets.js';
import { loadProjectSecrets } from '../secrets/secrets.js';
import { withHint } from './db-reset.js';
import {
  connectAdmin,
  createDatabase,
  databaseExists,
  dropDatabase,
  requireRole,
  runningUnits,
  tierServer,
  type TierServer,
} from './db-server.js';
import { streamDatabase } from './stream-database.js';
import { neutralize, verifyNeutralized, type NeutralityCheck, type NeutralizeResult } from './neutralize.js';
import { requireInstanceName } from '../../platform-spec/instance-names.js';

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
  requireInstanceName(to, 'instance (--to)');
  requireInstanceName(from, 'instance (--from)');
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
  if (from !== 'prod') {
    throw new OdpError('USAGE', `--from ${from}: only prod's data is cloned (into integration)`, {
      hint: `odp db clone ${project} --from prod --to integration`,
    });
  }
}

export interface CloneOptions extends DataOpOptions {
  from: string;
  to: string;
}

/** What the clone's steps use: both servers, a session on each, the buckets' client. */
interface CloneRuntime {
  prod: ResolvedInstance;
  integration: ResolvedInstance;
  source: TierServer;
  target: TierServer;
  prodAdmin: PgClient;
  intAdmin: PgClient;
  s3: ObjectStorage;
  admin: (server: TierServer, database?: string) => Promise<PgClient>;
}

/**
 * The plan of a clone, the lock held unless it is a dry run. Everything that
 * can be checked is, before integration loses anything: prod's database, the
 * integration role, prod's bucket readable with integration's keys.
 */
async function withClonePlan<T>(
  engine: Engine,
  dir: string,
  projectName: string,
  o: CloneOptions & { dryRun?: boolean },
  body: (plan: DataPlan, rt: CloneRuntime) => Promise<T>,
): Promise<T> {
  assertClonable(projectName, o.from, o.to);
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
  const clients: PgClient[] = [];
  const admin = async (server: TierServer, database?: string) => {
    const c = await connectAdmin(server, database);
    clients.push(c);
    return c;
  };
  try {
    return await lockedUnlessDryRun(dir, `${projectName}-integration`, o, async () => {
      const source = await tierServer(engine, pd, 'prod', platform.values);
      const target = await tierServer(engine, pd, 'integration', platform.values);
      const prodAdmin = await admin(source);
      if (!(await databaseExists(prodAdmin, prod.database))) {
        throw new OdpError(
          'NOT_FOUND',
          `the prod database ${prod.database} does not exist on ${source.service}`,
          {
            hint: `Nothing was changed; there is nothing to clone yet (odp provision ${projectName} prod creates it).`,
          },
        );
      }
      const intAdmin = await admin(target);
      await requireRole(intAdmin, integration.dbUser, projectName, 'integration');
      const listing = s3.keys(prod.bucket!);
      await listing.next();
      await listing.return(undefined);
      const plan = planClone({
        project: projectName,
        instance: 'integration',
        target: { server: target.service, database: integration.database },
        role: integration.dbUser,
        exists: await databaseExists(intAdmin, integration.database),
        running: await runningUnits(engine, pd, projectName, 'integration'),
        source: { server: source.service, database: prod.database, bucket: prod.bucket! },
        bucket: integration.bucket!,
        domain: integration.domain,
      });
      return await body(plan, { prod, integration, source, target, prodAdmin, intAdmin, s3, admin });
    });
  } finally {
    s3.close();
    for (const c of clients) await c.end().catch(() => undefined);
  }
}

/** What `odp db clone` would do (its --dry-run): reads only, takes no lock. */
export function clonePlan(
  engine: Engine,
  dir: string,
  projectName: string,
  o: CloneOptions,
): Promise<DataPlan> {
  return withClonePlan(engine, dir, projectName, { ...o, dryRun: true }, async (plan) => plan);
}

export function cloneDatabase(
  engine: Engine,
  dir: string,
  projectName: string,
  o: CloneOptions,
): Promise<CloneResult> {
  return withClonePlan(engine, dir, projectName, o, async (plan, rt) => {
    o.annotate?.({ plan });
    o.onPlan?.(plan);
    const did = await executeClone(engine, plan, rt, o.progress);
    const { prod, integration } = rt;
    return {
      project: projectName,
      from: 'prod' as const,
      to: 'integration' as const,
      source: { server: rt.source.service, database: prod.database, bucket: prod.bucket! },
      target: {
        server: rt.target.service,
        database: integration.database,
        role: integration.dbUser,
        bucket: integration.bucket!,
        domain: integration.domain,
      },
      ...did,
    };
  });
}

type Done = Pick<
  CloneResult,
  'dumpBytes' | 'terminated' | 'objects' | 'neutralized' | 'verification' | 'stopped' | 'restarted'
>;

async function executeClone(
  engine: Engine,
  plan: DataPlan,
  rt: CloneRuntime,
  progress: Progress,
): Promise<Done> {
  const did: Partial<Done> = { terminated: 0 };
  let db: PgClient | undefined;
  const run = await runDataPlan(
    plan,
    async (s) => {
      switch (s.kind) {
        case 'drop-database':
          did.terminated = await dropDatabase(rt.intAdmin, s.database);
          return;
        case 'create-database':
          return createDatabase(rt.intAdmin, s.database, s.owner);
        case 'copy-database':
          did.dumpBytes = await streamDatabase(engine, rt.prodAdmin, {
            source: rt.source,
            target: rt.target,
            from: s.from.database,
            to: s.to.database,
            role: s.role,
          });
          return;
        case 'copy-attachments':
          did.objects = await rt.s3.copyBucket(s.from, s.to);
          return;
        case 'neutralize':
          db = await rt.admin(rt.target, s.database);
          did.neutralized = await neutralize(db, { domain: s.domain });
          return;
        case 'verify-neutralized':
          did.verification = await verifyNeutralized(db ?? (await rt.admin(rt.target, s.database)));
          return;
        default:
          throw unexpectedStep(plan, s);
      }
    },
    { engine, progress },
  );
  if (run.failure) {
    // Failed while stopping: the units were started again, integration is as it was.
    if (!run.began.has(plan.keepStoppedFrom!)) throw run.failure.error;
    // A half-made or unneutralized copy of prod must not run: nothing was started.
    throw withHint(
      run.failure.error,
      `The integration copy is unfinished: run the clone again, or odp db reset ${plan.project} integration.` +
        (run.stopped.length ? ` ${run.stopped.join(', ')} stay stopped until then.` : ''),
    );
  }
  const unstarted = unstartedError(run, 'the clone is done', plan.project);
  if (unstarted) throw unstarted;
  return { ...(did as Done), stopped: run.stopped, restarted: run.started };
}
