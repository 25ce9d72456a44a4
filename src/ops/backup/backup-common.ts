// What backups and restores share: backup ids and manifests, where backups live,
// connections to the tier's PostgreSQL, and step-by-step progress and errors.
// instance's database, made by pg_dump inside the tier's PostgreSQL container
// (the server's own version, nothing installed on the host) and streamed into the
// platform's backups bucket, with a copy of every attachment object and a
// manifest written last: a backup without its manifest is incomplete. The bucket
// is the source of truth; nothing about backups is kept anywhere else.
//
//   <backups bucket>/<project>/<instance>/<YYYYMMDDTHHMMSSZ>/db.dump
//                                                           /attachments/<key>
//                                                           /manifest.json
import { readFile } from 'node:fs/promises';
import { resolveInstance, type ResolvedInstance } from '../../compose/instance.js';
import { sharedUnit, type Tier } from '../../compose/platform.js';
import { connect, type PgClient } from '../../backends/postgres/index.js';
import type { Engine } from '../../engines/engine.js';
import { OdpError, isOdpError } from '../../errors.js';
import { loadPlatformDir, requireProject, type PlatformDir } from '../../platformdir/load.js';
import { MASK, Secret } from '../../secret.js';
import { secretsForInstance } from '../../secrets/scope.js';
import { Bucket, type BucketAccess } from '../../backends/s3/bucket.js';
import { platformSecrets } from '../secrets/platform-secrets.js';
import { type Progress } from '../../progress.js';
import { sharedEndpoint } from '../platform/shared-endpoint.js';
import { loadProjectSecrets } from '../secrets/secrets.js';
import { compareVersions, PINNED_VERSION } from '../../versions.js';
import { requireInstanceName } from '../../platform-spec/instance-names.js';

/** Backup ids are their UTC start time, to the second: they sort as they were made. */
export const BACKUP_ID = /^\d{8}T\d{6}Z$/;

export function backupId(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** When the backup `id` was started: backupId's inverse (an impossible date is an Invalid Date). */
export function backupTime(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(id);
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : new Date(NaN);
}

export interface BackupManifest {
  format: 1;
  id: string;
  project: string;
  instance: Tier;
  database: string;
  role: string;
  /** The image the spec names for the instance. */
  image: string;
  /** The highest version marabunta finished in the database (what the data was migrated to). */
  imageVersion: string | null;
  postgresVersion: string;
  odpVersion: string;
  createdAt: string;
  finishedAt: string;
  dump: { key: string; format: 'custom'; bytes: number; sha256: string };
  attachments: {
    /** The instance's bucket they were copied from. */
    bucket: string;
    objects: number;
    bytes: number;
    /** Copied from the instance's bucket; the others came from the previous backup. */
    copied: number;
    reused: number;
  };
}

export interface BackupSummary {
  id: string;
  /** False while running, or when a backup failed and could not clean up after itself. */
  complete: boolean;
  createdAt: string;
  ageSeconds: number;
  /** The dump and the attachments together. */
  bytes?: number;
  dumpBytes?: number;
  attachments?: { objects: number; bytes: number };
  imageVersion?: string | null;
}

export interface BackupResult {
  id: string;
  bucket: string;
  manifest: BackupManifest;
  /** Backups deleted by retention. */
  deleted: string[];
  /** Why retention did not run through (the backup itself is complete). */
  retentionError?: string;
}

export interface BackupOptions {
  passphraseFile?: string;
  progress?: Progress;
  /** The caller already holds the instance's lock (an upgrade taking a backup first). */
  locked?: boolean;
}

/** The platform's backups bucket and where one instance's backups live in it. */
export interface BackupLocation {
  pd: PlatformDir;
  project: string;
  instance: Tier;
  inst: ResolvedInstance;
  bucket: Bucket;
  /** `<project>/<instance>/` */
  prefix: string;
  platformSecrets: Map<string, Secret>;
}

export function parseTier(instance: string, what: string): Tier {
  const inst = requireInstanceName(instance);
  if (inst === 'test') {
    throw new OdpError(
      'USAGE',
      `${what} is for integration and prod; ${instance} is rebuilt from scratch and keeps no data`,
    );
  }
  return inst;
}

export function backupsBucketName(pd: PlatformDir): string {
  return pd.platform.backups.bucket ?? `${pd.platform.name}-backups`;
}

function backupsAccess(pd: PlatformDir, values: ReadonlyMap<string, Secret>): BucketAccess {
  const storage = pd.platform.services.storage;
  const id = values.get('BACKUP_S3_ACCESS_KEY_ID');
  const secret = values.get('BACKUP_S3_SECRET_ACCESS_KEY');
  const at = { endpoint: storage.endpoint, region: storage.region };
  if (id && secret) return { ...at, accessKeyId: id, secretAccessKey: secret };
  if (!id && !secret && storage.embedded) {
    // The embedded server's one account.
    return { ...at, accessKeyId: new Secret('S3RVER'), secretAccessKey: new Secret('S3RVER') };
  }
  throw new OdpError('NOT_FOUND', 'the platform has no credentials for its backups bucket', {
    hint: 'Add BACKUP_S3_ACCESS_KEY_ID and BACKUP_S3_SECRET_ACCESS_KEY (both) to platform.env.gpg.',
  });
}

export async function openBackups(
  dir: string,
  project: string,
  instance: string,
  o: { passphraseFile?: string; what: string },
): Promise<BackupLocation> {
  const tier = parseTier(instance, o.what);
  const pd = await loadPlatformDir(dir);
  const spec = requireProject(pd, project).spec;
  const inst = resolveInstance(pd.platform, spec, tier);
  const secrets = await platformSecrets(dir, { passphraseFile: o.passphraseFile, generate: false });
  const bucket = new Bucket(backupsAccess(pd, secrets.values), backupsBucketName(pd));
  return {
    pd,
    project,
    instance: tier,
    inst,
    bucket,
    prefix: `${project}/${tier}/`,
    platformSecrets: secrets.values,
  };
}

/** The superuser's password of the tier's PostgreSQL. */
export function superuserPassword(loc: BackupLocation): Secret {
  const key = loc.instance === 'prod' ? 'POSTGRES_PASSWORD' : 'POSTGRES_INTEGRATION_PASSWORD';
  const s = loc.platformSecrets.get(key);
  if (!s)
    throw new OdpError('NOT_FOUND', 'the platform has no secrets yet', {
      hint: 'Run `odp platform up` first.',
    });
  return s;
}

/** The bucket of the instance's attachments, with the project's credentials for it. */
export async function instanceBucket(
  loc: BackupLocation,
  dir: string,
  o: { passphraseFile?: string },
): Promise<Bucket> {
  const all = await loadProjectSecrets(dir, loc.project, o);
  if (!all) throw new OdpError('SECRETS_NO_PASSPHRASE', `no secrets for ${loc.project}`);
  const secrets = secretsForInstance(all, loc.instance);
  const need = (k: string): Secret => {
    const s = secrets.get(k);
    if (!s)
      throw new OdpError('NOT_FOUND', `${loc.project}/${loc.instance} has no ${k}`, {
        hint: `odp secrets set ${loc.project} ${k} --instance ${loc.instance} --stdin`,
      });
    return s;
  };
  const storage = loc.pd.platform.services.storage;
  return new Bucket(
    {
      endpoint: storage.endpoint,
      region: storage.region,
      accessKeyId: need('AWS_ACCESS_KEY_ID'),
      secretAccessKey: need('AWS_SECRET_ACCESS_KEY'),
    },
    loc.inst.bucket!,
  );
}

/** A connection as the tier's superuser, from this host. */
export async function superuserConnection(
  engine: Engine,
  loc: BackupLocation,
  database: string,
): Promise<PgClient> {
  const at = await sharedEndpoint(engine, loc.pd, `postgres-${loc.instance}`, 5432);
  return connect({ ...at, user: 'postgres', password: superuserPassword(loc), database });
}

/** The tier's PostgreSQL container, where pg_dump and pg_restore run. */
export function postgresUnit(loc: BackupLocation): string {
  return sharedUnit(loc.pd.platform, `postgres-${loc.instance}`);
}

/** Connection options of pg_dump and pg_restore inside the container; the password goes in the environment. */
export function pgToolEnv(password: Secret): Record<string, string> {
  return { PGPASSWORD: password.reveal(), PGCONNECT_TIMEOUT: '10' };
}

/** A command's standard error for a message: trimmed, its last lines, no secret in it. */
export function toolOutput(text: string, secrets: readonly Secret[]): string {
  let out = text.trim().split('\n').slice(-15).join('\n');
  for (const s of secrets) if (s.reveal()) out = out.split(s.reveal()).join(MASK);
  return out;
}

/** An error naming the step that failed, and what that left behind. */
export function stepError(what: string, step: string, e: unknown, aftermath: string[]): OdpError {
  const cause = isOdpError(e) ? e : undefined;
  const message = e instanceof Error ? e.message : String(e);
  return new OdpError(cause?.code ?? 'ENGINE', `${what} failed while ${step}: ${message}`, {
    cause: e,
    ...(cause?.hint ? { hint: cause.hint } : {}),
    detail: [cause?.detail, ...aftermath].filter(Boolean).join('\n'),
  });
}

export type TrackedProgress = Progress & { failRunning(text: string): void };

/** Progress that remembers what runs, so a failure marks those steps failed. */
export function tracked(progress: Progress): TrackedProgress {
  const running = new Set<string>();
  return {
    start: (key, text) => {
      running.add(key);
      progress.start(key, text);
    },
    done: (key, text) => {
      running.delete(key);
      progress.done(key, text);
    },
    fail: (key, text) => {
      running.delete(key);
      progress.fail(key, text);
    },
    note: (text) => progress.note(text),
    failRunning: (text) => {
      for (const key of running) progress.fail(key, text);
      running.clear();
    },
  };
}

let odpVersionCache: string | undefined;
export async function odpVersion(): Promise<string> {
  if (odpVersionCache) return odpVersionCache;
  try {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    odpVersionCache = pkg.version ?? 'unknown';
  } catch {
    odpVersionCache = 'unknown';
  }
  return odpVersionCache;
}

export async function marabuntaVersion(db: PgClient): Promise<string | null> {
  const exists = await db.query<{ t: string | null }>(
    "SELECT to_regclass('public.marabunta_version')::text AS t",
  );
  if (!exists.rows[0]?.t) return null;
  const r = await db.query<{ number: string }>(
    'SELECT number FROM marabunta_version WHERE date_done IS NOT NULL',
  );
  // The newest release done, in marabunta's order (`setup` is no release).
  const versions = r.rows.map((x) => x.number).filter((v) => PINNED_VERSION.test(v));
  return versions.sort(compareVersions).at(-1) ?? null;
}
