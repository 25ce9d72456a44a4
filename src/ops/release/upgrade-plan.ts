// `odp deploy PROJECT integration|prod --version X.Y.Z`, its plan: every
// pre-flight check (spec rules, secrets, images, the tier's PostgreSQL and
// Redis answering, the database provisioned), then what the deploy would do:
// the image change, the migration versions pending in the database, which
// replicas change, and whether a backup is taken (iff a migration is pending).
// Reads only; nothing is changed here.
import { composeStack } from '../../compose/stack.js';
import type { ResolvedInstance } from '../../compose/instance.js';
import type { Tier } from '../../compose/platform.js';
import { connect, sqlState } from '../../backends/postgres/index.js';
import { redisConnect } from '../../backends/redis/index.js';
import { LABEL, type Endpoint, type Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import { type Stack, unitName } from '../../model/stack.js';
import { planRelease, releaseId, type ReleaseFacts } from '../../plan/release.js';
import {
  formatReleasePlan,
  type Flow,
  type ReleasePlan,
  type ReleaseStep,
} from '../../plan/release-steps.js';
import { serving } from '../../state/serving.js';
import { migrationJob, pairs, replicaSummary, withRelease, type ReplicaChange } from './release-units.js';

export type { ReplicaChange };
import type { ReleaseRuntime } from './execute.js';
import { desiredUnits } from '../../plan/plan.js';
import { loadPlatformDir, requireProject, type PlatformDir } from '../../platformdir/load.js';
import { Secret } from '../../secret.js';
import { secretsForInstance } from '../../secrets/scope.js';
import type { ProjectSpec } from '../../platform-spec/project-schema.js';
import { parseMigrationVersions, pendingMigrations, type DoneVersion } from './migrations.js';
import { refuseViolations, resolveImages } from '../instance/preflight.js';
import type { Progress } from '../../progress.js';
import { sharedEndpoint } from '../platform/shared-endpoint.js';
import { loadProjectSecrets } from '../secrets/secrets.js';
import { PINNED_VERSION } from '../../versions.js';

/**
 * How long old units stay once the edge sends to the new ones: requests in
 * flight end, and the edge's idle connections to the old addresses are purged
 * (HAProxy's pool-purge-delay, 5 s) before the old nginx closes them.
 */
export const DRAIN_MS = 12_000;

/** The plan, summed up for people, with the steps that run (the same object the deploy executes). */
export interface UpgradePlan {
  project: string;
  instance: Tier;
  stack: string;
  domain: string;
  version: string;
  /** The release's id, part of its units' names. */
  release: string;
  flow: Flow;
  /** The version the spec says runs now, when something runs (what a rollback returns to). */
  fromVersion?: string;
  image: { from: string | undefined; to: string };
  migration: { fresh: boolean; pending: string[]; unfinished: string[] };
  replicas: ReplicaChange[];
  backup: boolean;
  /** Nothing to do: same image and config everywhere, nothing pending. */
  upToDate: boolean;
  steps: ReleaseStep[];
}

/** What the apply needs besides the printed plan. */
export interface UpgradeContext {
  pd: PlatformDir;
  inst: ResolvedInstance;
  stack: Stack;
  plan: UpgradePlan;
  release: ReleasePlan;
  runtime: ReleaseRuntime;
}

export interface UpgradePlanOptions {
  version: string;
  /** A rollback's restore point: the database returns to it instead of migrating. */
  restore?: string;
  /** How long old units keep their connections after the edge moved on. */
  drainMs?: number;
  passphraseFile?: string;
  progress: Progress;
}

export const isTier = (i: string): i is Tier => i === 'prod' || i === 'integration';

/**
 * The stack a pinned instance runs at `version`: replicas never migrate on their
 * own start (MIGRATE=False); migrations run once, in a one-off container.
 */
export function upgradeStack(stack: Stack): Stack {
  return {
    ...stack,
    services: stack.services.map((s) =>
      s.role === 'odoo' ? { ...s, env: new Map([...s.env, ['MIGRATE', 'False']]) } : s,
    ),
  };
}

export async function planUpgrade(
  engine: Engine,
  dir: string,
  projectName: string,
  instance: string,
  o: UpgradePlanOptions,
): Promise<UpgradeContext> {
  if (!isTier(instance))
    throw new OdpError('USAGE', `--version deploys integration or prod, not ${instance}`);
  if (!PINNED_VERSION.test(o.version)) {
    throw new OdpError(
      'USAGE',
      `--version ${o.version}: expected a pinned version such as 10.0.1 or 14.0.1.2.0`,
    );
  }
  const pd = await loadPlatformDir(dir);
  const project = requireProject(pd, projectName).spec;
  const current = project.instances[instance];
  if (!current) throw new OdpError('NOT_FOUND', `project ${projectName} declares no ${instance} instance`);
  const spec: ProjectSpec = {
    ...project,
    instances: { ...project.instances, [instance]: { ...current, version: o.version } },
  };

  o.progress.start('preflight', 'pre-flight checks');
  const all = await loadProjectSecrets(dir, projectName, { passphraseFile: o.passphraseFile });
  if (!all) throw new OdpError('SECRETS_NO_PASSPHRASE', `no secrets for ${projectName}`);
  refuseViolations(pd, projectName, o.progress);
  const composed = composeStack(pd.platform, spec, instance, all);
  if (composed.missingSecrets.length) {
    throw new OdpError(
      'DEPLOY_FAILED',
      `${composed.stack.name} lacks secrets: ${composed.missingSecrets.join(', ')}`,
      { hint: `odp secrets set ${projectName} KEY --instance ${instance} --stdin` },
    );
  }
  const stack = upgradeStack(composed.stack);
  const inst = composed.instance;
  await engine.ping();
  const imageIds = await resolveImages(engine, stack);
  const image = `${inst.image}:${inst.tag}`;

  // The tier's shared services answer, and the instance's role reaches its database.
  const pg = await sharedEndpoint(engine, pd, `postgres-${instance}`, 5432);
  const redisAt = await sharedEndpoint(engine, pd, `redis-${instance}`, 6379);
  const redis = await redisConnect(redisAt).catch((e: unknown) => {
    throw new OdpError('DEPLOY_FAILED', `redis-${instance} does not answer: ${String(e)}`, {
      hint: 'Nothing was changed. See `odp platform status`.',
    });
  });
  try {
    await redis.ping();
  } finally {
    redis.disconnect();
  }
  const dbPassword = secretsForInstance(all, instance).get('DB_PASSWORD');
  if (!dbPassword) throw new OdpError('NOT_FOUND', `${projectName}/${instance} has no DB_PASSWORD`);
  const rows = await marabuntaRows(pg, inst, dbPassword, projectName, instance);
  o.progress.done('preflight');

  o.progress.start('migrations', `read the migration file of ${image}`);
  const file = await migrationFile(engine, image);
  const migration = pendingMigrations(parseMigrationVersions(file), rows);
  o.progress.done('migrations');

  const seen = await engine.observe({ platform: pd.platform.name, project: projectName, instance });
  const observed = seen.units.filter((u) => ['odoo', 'nginx', 'migrate'].includes(u.service));
  const plain = desiredUnits(stack, imageIds);
  const odoo1 = plain.find((u) => u.service.role === 'odoo');
  if (!odoo1) throw new OdpError('INTERNAL', `${stack.name} has no odoo unit`);
  const release = releaseId(o.version, odoo1.configHash);
  const units = withRelease(plain, release);
  const job = migrationJob(units, release);
  const facts: ReleaseFacts = {
    project: projectName,
    instance,
    stack: stack.name,
    network: stack.network,
    networkExists: seen.networks.includes(stack.network),
    domain: stack.domain,
    version: o.version,
    release,
    pairs: pairs(units),
    observed,
    serving: serving(dir, projectName, instance),
    database: o.restore
      ? { kind: 'restore', backup: o.restore }
      : {
          kind: 'migrate',
          versions: migration.pending,
          fresh: migration.fresh,
          job: unitName(stack.name, 'migrate', 1, release),
          image,
        },
    drainSeconds: (o.drainMs ?? DRAIN_MS) / 1000,
  };
  const rp = planRelease(facts);
  const running = observed.find((u) => u.service === 'odoo' && u.state === 'running');
  const plan: UpgradePlan = {
    project: projectName,
    instance,
    stack: stack.name,
    domain: stack.domain,
    version: o.version,
    release,
    flow: rp.flow,
    ...(running && current.version && current.version !== 'latest' ? { fromVersion: current.version } : {}),
    image: { from: running?.image, to: image },
    migration,
    replicas: replicaSummary(rp, observed),
    backup: rp.steps.some((s) => s.kind === 'take-restore-point'),
    upToDate: rp.flow === 'up-to-date',
    steps: rp.steps,
  };
  const labels = {
    [LABEL.platform]: pd.platform.name,
    [LABEL.project]: projectName,
    [LABEL.instance]: instance,
  };
  return {
    pd,
    inst,
    stack,
    plan,
    release: rp,
    runtime: {
      engine,
      pd,
      plan: rp,
      units: new Map(units.map((u) => [unitName(u.stack, u.service.name, u.replica, u.release), u])),
      job,
      labels,
    },
  };
}

/** marabunta_version as the instance's role; undefined when the table does not exist (fresh database). */
async function marabuntaRows(
  at: Endpoint,
  inst: ResolvedInstance,
  password: Secret,
  project: string,
  instance: Tier,
): Promise<DoneVersion[] | undefined> {
  const client = await connect({
    ...at,
    user: inst.dbUser,
    password,
    database: inst.database,
  }).catch((e: unknown) => {
    const state = sqlState(e);
    throw new OdpError(
      'DEPLOY_FAILED',
      `${project}/${instance}: role ${inst.dbUser} cannot connect to database ${inst.database}` +
        (state ? ` (SQLSTATE ${state})` : `: ${e instanceof Error ? e.message : String(e)}`),
      { hint: `Nothing was changed. Run \`odp provision ${project} ${instance}\` first.` },
    );
  });
  try {
    const exists = await client.query<{ t: string | null }>(
      "SELECT to_regclass('marabunta_version')::text AS t",
    );
    if (!exists.rows[0]?.t) return undefined;
    const r = await client.query<{ number: string; date_done: Date | null }>(
      'SELECT number, date_done FROM marabunta_version',
    );
    return r.rows.map((x) => ({ number: x.number, dateDone: x.date_done }));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The image's migration file: $MIGRATION_CONFIG_FILE of its config, else /odoo/migration.yml. */
async function migrationFile(engine: Engine, image: string): Promise<string> {
  const r = await engine.runOneOff(image, [
    'sh',
    '-c',
    'cat "${MIGRATION_CONFIG_FILE:-/odoo/migration.yml}"',
  ]);
  if (r.exitCode !== 0) {
    throw new OdpError('DEPLOY_FAILED', `cannot read the migration file of ${image}`, {
      detail: r.output.trim(),
      hint: 'Nothing was changed.',
    });
  }
  return r.output;
}

/** The plan, for people. */
export function formatUpgradePlan(p: UpgradePlan): string {
  const lines = [`${p.project}/${p.instance} (${p.stack}) → ${p.version}`];
  lines.push(
    `  image      ${p.image.from ? (p.image.from === p.image.to ? `${p.image.to} (unchanged)` : `${p.image.from} → ${p.image.to}`) : `${p.image.to} (nothing runs yet)`}`,
  );
  const m = p.migration;
  lines.push(
    `  migration  ${m.pending.length ? `pending: ${m.pending.join(', ')}` : 'none pending'}${m.fresh ? ' (fresh database: no marabunta_version yet)' : ''}`,
  );
  if (m.unfinished.length) {
    lines.push(
      `  warning    version ${m.unfinished.join(', ')} was started and never finished (a failed migration); it runs again`,
    );
  }
  for (const r of p.replicas) lines.push(`  replica ${r.replica}  ${r.unit}: ${r.action} (${r.cause})`);
  lines.push(`  backup     ${p.backup ? 'yes, before the database changes' : 'no'}`);
  if (p.upToDate) lines.push('  nothing to do');
  else
    lines.push(
      formatReleasePlan({ ...p, steps: p.steps })
        .split('\n')
        .slice(1)
        .join('\n'),
    );
  return lines.join('\n');
}
