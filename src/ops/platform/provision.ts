// `odp provision PROJECT integration|prod`: what an instance needs on the shared
// services, created idempotently: its role and database (on the cluster for
// prod, on the integration server for integration) with CONNECT revoked from
// everybody else, its bucket, its Redis prefix. Replaces the original
// document's `docker exec … psql -c "CREATE DATABASE …"`.
import { resolveInstance } from '../../compose/instance.js';
import type { Tier } from '../../compose/platform.js';
import { connect, provisionDatabase, type ProvisionResult } from '../../backends/postgres/index.js';
import { ObjectStorage, type BucketChange } from '../../backends/s3/index.js';
import type { Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import { loadPlatformDir, requireProject } from '../../platformdir/load.js';
import type { Secret } from '../../secret.js';
import { secretsForInstance } from '../../secrets/scope.js';
import { openState } from '../../state/db.js';
import { claimRedisPrefix } from '../../state/prefixes.js';
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

export async function provision(
  engine: Engine,
  dir: string,
  projectName: string,
  instance: string,
  o: { passphraseFile?: string } = {},
): Promise<ProvisionOutcome> {
  if (instance !== 'prod' && instance !== 'integration') {
    throw new OdpError('USAGE', `provision is for integration and prod; ${instance} brings its own database`);
  }
  const pd = await loadPlatformDir(dir);
  const project = requireProject(pd, projectName).spec;
  const inst = resolveInstance(pd.platform, project, instance);
  const all = await loadProjectSecrets(dir, projectName, o);
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
  const platform = await platformSecrets(dir, { ...o, generate: false });
  const superuser = platform.values.get(
    instance === 'prod' ? 'POSTGRES_PASSWORD' : 'POSTGRES_INTEGRATION_PASSWORD',
  );
  if (!superuser)
    throw new OdpError('NOT_FOUND', 'the platform has no secrets yet', {
      hint: 'Run `odp platform up` first.',
    });

  const admin = await connect({
    ...(await sharedEndpoint(engine, pd, `postgres-${instance}`, 5432)),
    user: 'postgres',
    password: superuser,
    database: 'postgres',
  });
  let postgres: ProvisionResult;
  try {
    postgres = await provisionDatabase(admin, {
      role: inst.dbUser,
      password: need('DB_PASSWORD'),
      database: inst.database,
    });
  } finally {
    await admin.end().catch(() => undefined);
  }

  const storage = pd.platform.services.storage;
  const s3 = new ObjectStorage({
    // Embedded: storage.endpoint is where this host reaches it (containers use `s3`).
    endpoint: storage.endpoint,
    region: storage.region,
    accessKeyId: need('AWS_ACCESS_KEY_ID'),
    secretAccessKey: need('AWS_SECRET_ACCESS_KEY'),
  });
  const bucket = inst.bucket!;
  const bucketChange = await s3.ensureBucket(bucket);

  const db = openState(dir);
  let prefixChange: 'created' | 'unchanged';
  try {
    prefixChange = claimRedisPrefix(db, inst.redisPrefix, { project: projectName, instance });
  } finally {
    db.close();
  }
  return {
    project: projectName,
    instance,
    database: inst.database,
    role: inst.dbUser,
    postgres,
    bucket: { name: bucket, change: bucketChange },
    redisPrefix: { prefix: inst.redisPrefix, change: prefixChange },
  };
}
