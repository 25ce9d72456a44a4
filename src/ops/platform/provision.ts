// `odp provision PROJECT integration|prod`: what an instance needs on the shared
// services, created idempotently: its role and database (on the cluster for
// prod, on the integration server for integration) with CONNECT revoked from
// everybody else, its bucket, its Redis prefix. Replaces the original
// document's `docker exec … psql -c "CREATE DATABASE …"`. A plan
// (plan/provision.ts): `--dry-run` prints it; the run executes it under the
// instance's lock (the platform lock shared: it changes only this instance's
// objects on the shared services) and records it in the instance's history.
import { resolveInstance } from '../../compose/instance.js';
import type { Tier } from '../../compose/platform.js';
import {
  connect,
  provisionConnect,
  provisionOwnedDatabase,
  provisionRole,
  type DatabaseGrant,
  type PgClient,
  type ProvisionResult,
} from '../../backends/postgres/index.js';
import { ObjectStorage, type BucketChange } from '../../backends/s3/index.js';
import type { Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import {
  planProvision,
  provisionStepSubject,
  type ProvisionPlan,
  type ProvisionStep,
} from '../../plan/provision.js';
import { loadPlatformDir, requireProject, type PlatformDir } from '../../platformdir/load.js';
import { silentProgress, type Progress } from '../../progress.js';
import type { Secret } from '../../secret.js';
import { secretsForInstance } from '../../secrets/scope.js';
import { openState } from '../../state/db.js';
import { claimRedisPrefix } from '../../state/prefixes.js';
import { runOperation } from '../operation.js';
import { runSteps } from '../run-steps.js';
import { platformSecrets } from '../secrets/platform-secrets.js';
import { sharedEndpoint } from './shared-endpoint.js';
import { loadProjectSecrets } from '../secrets/secrets.js';

export interface ProvisionOutcome {
  project: string;
  instance: Tier;
  database: string;
  role: string;
  postgres: ProvisionResult;
  bucket: { name: string; change: BucketChange };
  redisPrefix: { prefix: string; change: 'created' | 'unchanged' };
}

export interface ProvisionOptions {
  passphraseFile?: string;
  progress?: Progress;
  dryRun?: boolean;
  wait?: boolean;
}

/** The plan, and what each step did (not for a dry run). */
export interface ProvisionRun {
  plan: ProvisionPlan;
  outcome?: ProvisionOutcome;
}

export async function provision(
  engine: Engine,
  dir: string,
  projectName: string,
  instance: string,
  o: ProvisionOptions = {},
): Promise<ProvisionRun> {
  if (instance !== 'prod' && instance !== 'integration') {
    throw new OdpError('USAGE', `provision is for integration and prod; ${instance} brings its own database`);
  }
  const pd = await loadPlatformDir(dir);
  const project = requireProject(pd, projectName).spec;
  const inst = resolveInstance(pd.platform, project, instance);
  // Every secret is looked for first: a dry run says what is missing too.
  const all = await loadProjectSecrets(dir, projectName, { passphraseFile: o.passphraseFile });
  if (!all) throw new OdpError('SECRETS_NO_PASSPHRASE', `no secrets for ${projectName}`);
  const secrets = secretsForInstance(all, instance);
  const need = (k: string): Secret => {
    const s = secrets.get(k);
    if (!s)
      throw new OdpError('NOT_FOUND', `${projectName}/${instance} has no ${k}`, {
        hint: `odp secrets set ${projectName} ${k} --instance ${instance} --stdin`,
      });
    return s;
  };
  const platform = await platformSecrets(dir, { passphraseFile: o.passphraseFile, generate: false });
  const superuser = platform.values.get(
    instance === 'prod' ? 'POSTGRES_PASSWORD' : 'POSTGRES_INTEGRATION_PASSWORD',
  );
  if (!superuser)
    throw new OdpError('NOT_FOUND', 'the platform has no secrets yet', {
      hint: 'Run `odp platform up` first.',
    });
  const grant: DatabaseGrant = { role: inst.dbUser, password: need('DB_PASSWORD'), database: inst.database };
  const storage = pd.platform.services.storage;
  const s3 = new ObjectStorage({
    // Embedded: storage.endpoint is where this host reaches it (containers use `s3`).
    endpoint: storage.endpoint,
    region: storage.region,
    accessKeyId: need('AWS_ACCESS_KEY_ID'),
    secretAccessKey: need('AWS_SECRET_ACCESS_KEY'),
  });
  const plan = planProvision({
    project: projectName,
    instance,
    role: inst.dbUser,
    database: inst.database,
    server: `postgres-${instance}`,
    bucket: inst.bucket!,
    endpoint: storage.endpoint,
    redisPrefix: inst.redisPrefix,
  });
  if (o.dryRun) return { plan };
  const progress = o.progress ?? silentProgress;
  const owner = { project: projectName, instance };
  const rt: Runtime = { engine, pd, grant, s3, superuser, owner, changes: {} };
  const op = { dir, project: projectName, instance, kind: 'provision', progress, wait: o.wait ?? true };
  await runOperation(op, async (p, h) => {
    h?.annotate({ plan });
    try {
      await runSteps(plan.steps, (s) => execute(rt, s), {
        progress: p,
        describe: (s) => `${s.kind} ${provisionStepSubject(s)}`,
        code: 'ENGINE',
        hint: 'Provisioning again is safe: it creates what is missing and changes only what differs.',
      });
    } finally {
      await rt.admin?.end().catch(() => undefined);
    }
  });
  const c = rt.changes;
  return {
    plan,
    outcome: {
      project: projectName,
      instance,
      database: inst.database,
      role: inst.dbUser,
      postgres: { role: c.role!, database: c.database!, connect: c.connect! },
      bucket: { name: inst.bucket!, change: c.bucket! },
      redisPrefix: { prefix: inst.redisPrefix, change: c.prefix! },
    },
  };
}

interface Runtime {
  engine: Engine;
  pd: PlatformDir;
  grant: DatabaseGrant;
  s3: ObjectStorage;
  superuser: Secret;
  /** Who the Redis prefix is claimed for. */
  owner: { project: string; instance: string };
  /** The superuser's connection, opened by the first step that needs it. */
  admin?: PgClient;
  changes: Partial<ProvisionResult & { bucket: BucketChange; prefix: 'created' | 'unchanged' }>;
}

async function admin(rt: Runtime, server: string): Promise<PgClient> {
  rt.admin ??= await connect({
    ...(await sharedEndpoint(rt.engine, rt.pd, server, 5432)),
    user: 'postgres',
    password: rt.superuser,
    database: 'postgres',
  });
  return rt.admin;
}

async function execute(rt: Runtime, s: ProvisionStep): Promise<void> {
  switch (s.kind) {
    case 'ensure-role':
      rt.changes.role = await provisionRole(await admin(rt, s.server), rt.grant);
      return;
    case 'ensure-database':
      rt.changes.database = await provisionOwnedDatabase(await admin(rt, s.server), rt.grant);
      return;
    case 'restrict-connect':
      rt.changes.connect = await provisionConnect(await admin(rt, s.server), rt.grant);
      return;
    case 'ensure-bucket':
      rt.changes.bucket = await rt.s3.ensureBucket(s.bucket);
      return;
    case 'claim-redis-prefix': {
      const db = openState(rt.pd.dir);
      try {
        rt.changes.prefix = claimRedisPrefix(db, s.prefix, rt.owner);
      } finally {
        db.close();
      }
      return;
    }
  }
}
