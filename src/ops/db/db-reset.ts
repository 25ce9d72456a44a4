// `odp db reset PROJECT integration`: the original document's manual flow
// ("drop the database and recreate an empty one" with `docker exec … psql -c
// "DROP DATABASE …"`) made safe. The instance's units are stopped while it
// happens and started again afterwards, even when it fails; open sessions are
// terminated; the new database is owned by the instance's role, with CONNECT
// revoked from everybody else, exactly as `odp provision` makes it. Only on the
// integration server: prod is never reset, and test's database is its own
// container, rebuilt by `odp deploy PROJECT test`.
import { resolveInstance, stackName } from '../../compose/instance.js';
import { sharedUnit, type Tier } from '../../compose/platform.js';
import { connect, quoteIdent, sqlState, type PgClient } from '../../backends/postgres/index.js';
import { pgError } from '../../backends/postgres/client.js';
import type { Endpoint, Engine, ObservedUnit } from '../../engines/engine.js';
import { isOdpError, OdpError } from '../../errors.js';
import { loadPlatformDir, requireProject, type PlatformDir } from '../../platformdir/load.js';
import type { Secret } from '../../secret.js';
import { withInstanceLock } from '../../state/lock.js';
import { platformSecrets } from '../secrets/platform-secrets.js';
import type { Progress } from '../../progress.js';
import { sharedEndpoint } from '../platform/shared-endpoint.js';

export interface ResetResult {
  project: string;
  instance: 'integration';
  server: string;
  database: string;
  role: string;
  /** Whether there was a database to drop. */
  existed: boolean;
  /** Sessions that were still open on it, terminated. */
  terminated: number;
  /** The instance's units stopped for the reset, and those started again. */
  stopped: string[];
  restarted: string[];
}

/** Refuses, before anything is asked or touched, what `db reset` never does. */
export function assertResettable(project: string, instance: string): asserts instance is 'integration' {
  if (instance === 'prod') {
    throw new OdpError('USAGE', `refusing to reset the prod database of ${project}: prod is never reset`, {
      hint: `To try a release on the customer's data, use integration: odp db clone ${project} --from prod --to integration`,
    });
  }
  if (instance === 'test') {
    throw new OdpError(
      'USAGE',
      `the test database of ${project} is its own container: nothing to reset here`,
      {
        hint: `odp deploy ${project} test rebuilds the test instance with a fresh database.`,
      },
    );
  }
  if (instance !== 'integration') {
    throw new OdpError('USAGE', `unknown instance "${instance}"`, { hint: 'Only integration can be reset.' });
  }
}

/** A tier's PostgreSQL server as odp reaches it: its unit, its address from here and superuser password. */
export interface TierServer {
  service: string;
  unit: string;
  at: Endpoint;
  superuser: Secret;
}

export async function tierServer(
  engine: Engine,
  pd: PlatformDir,
  tier: Tier,
  platform: ReadonlyMap<string, Secret>,
): Promise<TierServer> {
  const service = `postgres-${tier}`;
  const superuser = platform.get(tier === 'prod' ? 'POSTGRES_PASSWORD' : 'POSTGRES_INTEGRATION_PASSWORD');
  if (!superuser) {
    throw new OdpError('NOT_FOUND', 'the platform has no secrets yet', {
      hint: 'Run `odp platform up` first.',
    });
  }
  const at = await sharedEndpoint(engine, pd, service, 5432);
  return { service, unit: sharedUnit(pd.platform, service), at, superuser };
}

/** A superuser session on the server, in `database`. */
export function connectAdmin(server: TierServer, database = 'postgres'): Promise<PgClient> {
  return connect({
    ...server.at,
    user: 'postgres',
    password: server.superuser,
    database,
  });
}

/** Fails with the way out when the instance's role is not on the server (never provisioned). */
export async function requireRole(admin: PgClient, role: string, project: string, tier: Tier): Promise<void> {
  const r = await admin
    .query<{ rolsuper: boolean }>('SELECT rolsuper FROM pg_roles WHERE rolname = $1', [role])
    .catch((e: unknown) => {
      throw pgError(`cannot read role ${role}`, e);
    });
  const row = r.rows[0];
  if (!row) {
    throw new OdpError('NOT_FOUND', `role ${role} does not exist on postgres-${tier}`, {
      hint: `odp provision ${project} ${tier}`,
    });
  }
  if (row.rolsuper)
    throw new OdpError('USAGE', `role ${role} is a superuser: refusing to give it a database`);
}

/**
 * Drops `database` (when it exists) and creates it empty, owned by `role`,
 * CONNECT revoked from PUBLIC and granted to the role. New sessions are refused
 * first, then open ones are terminated, so the drop cannot lose a race with a
 * client reconnecting.
 */
export async function recreateDatabase(
  admin: PgClient,
  want: { database: string; role: string },
): Promise<{ existed: boolean; terminated: number }> {
  const db = quoteIdent(want.database);
  const role = quoteIdent(want.role);
  const step = async (what: string, sql: string, params: unknown[] = []) => {
    try {
      return await admin.query(sql, params);
    } catch (e) {
      throw pgError(`cannot ${what} ${want.database}`, e);
    }
  };
  const existed =
    (await step('look up', 'SELECT 1 FROM pg_database WHERE datname = $1', [want.database])).rowCount === 1;
  let terminated = 0;
  if (existed) {
    await step('close', `ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
    try {
      for (let attempt = 1; ; attempt++) {
        const r = await step(
          'terminate the sessions of',
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [want.database],
        );
        terminated += (r.rows[0] as { n: number } | undefined)?.n ?? 0;
        try {
          await admin.query(`DROP DATABASE ${db}`);
          break;
        } catch (e) {
          // 55006: a terminated session has not gone yet; a few more tries.
          if (sqlState(e) !== '55006' || attempt >= 20) throw pgError(`cannot drop ${want.database}`, e);
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    } catch (e) {
      // Not dropped: open it again as it was, so the instance can still use it.
      await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`).catch(() => undefined);
      throw e;
    }
  }
  // template0 and UTF8: Odoo needs a UTF-8 database whatever template1 holds.
  await step('create', `CREATE DATABASE ${db} OWNER ${role} TEMPLATE template0 ENCODING 'UTF8'`);
  await step('restrict CONNECT on', `REVOKE CONNECT ON DATABASE ${db} FROM PUBLIC`);
  await step('grant CONNECT on', `GRANT CONNECT ON DATABASE ${db} TO ${role}`);
  return { existed, terminated };
}

/** The instance's units that run now (Odoo and its sidecar), sidecars first. */
export async function runningUnits(
  engine: Engine,
  pd: PlatformDir,
  project: string,
  instance: string,
): Promise<ObservedUnit[]> {
  const o = await engine.observe({ platform: pd.platform.name, project, instance });
  return o.units
    .filter((u) => u.state === 'running' || u.state === 'restarting')
    .sort(
      (a, b) => Number(b.service === 'nginx') - Number(a.service === 'nginx') || a.name.localeCompare(b.name),
    );
}

/** Stops the units in order; when one cannot be stopped, those already stopped start again. */
export async function stopUnits(
  engine: Engine,
  units: ObservedUnit[],
  progress: Progress,
): Promise<string[]> {
  const stopped: string[] = [];
  for (const u of units) {
    progress.start(`stop:${u.name}`, `stop ${u.name}`);
    try {
      await engine.stop(u.name, 30);
    } catch (e) {
      progress.fail(`stop:${u.name}`, e instanceof Error ? e.message : String(e));
      await startUnits(engine, stopped, progress);
      throw e;
    }
    progress.done(`stop:${u.name}`);
    stopped.push(u.name);
  }
  return stopped;
}

/**
 * Starts again what was stopped, owners before their sidecars (the sidecar
 * joins its owner's network namespace). Every unit is tried; returns those that
 * started and the failures, never throws.
 */
export async function startUnits(
  engine: Engine,
  names: string[],
  progress: Progress,
): Promise<{ started: string[]; failed: string[] }> {
  const started: string[] = [];
  const failed: string[] = [];
  for (const name of [...names].reverse()) {
    progress.start(`start:${name}`, `start ${name}`);
    try {
      await engine.start(name);
      progress.done(`start:${name}`);
      started.push(name);
    } catch (e) {
      progress.fail(`start:${name}`, e instanceof Error ? e.message : String(e));
      failed.push(name);
    }
  }
  return { started, failed };
}

export async function resetDatabase(
  engine: Engine,
  dir: string,
  projectName: string,
  instance: string,
  o: { passphraseFile?: string; progress: Progress },
): Promise<ResetResult> {
  assertResettable(projectName, instance);
  const pd = await loadPlatformDir(dir);
  const project = requireProject(pd, projectName).spec;
  const inst = resolveInstance(pd.platform, project, instance);
  const platform = await platformSecrets(dir, { passphraseFile: o.passphraseFile, generate: false });
  const server = await tierServer(engine, pd, 'integration', platform.values);

  return withInstanceLock(
    dir,
    `${projectName}-${instance}`,
    { wait: true, onWait: (h) => o.progress.note(`waiting for ${h}`) },
    async () => {
      const admin = await connectAdmin(server);
      try {
        await requireRole(admin, inst.dbUser, projectName, 'integration');
        const stopped = await stopUnits(
          engine,
          await runningUnits(engine, pd, projectName, instance),
          o.progress,
        );
        let outcome: { existed: boolean; terminated: number } | undefined;
        let failure: unknown;
        o.progress.start('recreate', `drop and recreate ${inst.database} on ${server.service}`);
        try {
          outcome = await recreateDatabase(admin, { database: inst.database, role: inst.dbUser });
          o.progress.done(
            'recreate',
            `recreated ${inst.database} empty, owned by ${inst.dbUser}` +
              (outcome.terminated ? ` (${outcome.terminated} session(s) terminated)` : ''),
          );
        } catch (e) {
          o.progress.fail('recreate', e instanceof Error ? e.message : String(e));
          failure = e;
        }
        // Started again whatever happened: a failed reset leaves the instance as it was.
        const { started, failed } = await startUnits(engine, stopped, o.progress);
        if (failure !== undefined) throw failure;
        if (failed.length > 0) {
          throw new OdpError(
            'ENGINE',
            `${inst.database} was reset, but ${failed.join(', ')} did not start again`,
            {
              hint: `odp status ${projectName}`,
            },
          );
        }
        return {
          project: projectName,
          instance,
          server: server.service,
          database: inst.database,
          role: inst.dbUser,
          existed: outcome!.existed,
          terminated: outcome!.terminated,
          stopped,
          restarted: started,
        };
      } finally {
        await admin.end().catch(() => undefined);
      }
    },
  );
}

/** The stack name users type to confirm (`<project>-odoo-integration`). */
export function confirmName(pd: PlatformDir, project: string, instance: 'integration'): string {
  return stackName(requireProject(pd, project).spec, instance);
}

/** Re-raises `e` with `extra` added to its hint (an OdpError's fields are fixed). */
export function withHint(e: unknown, extra: string): OdpError {
  if (!isOdpError(e)) {
    return new OdpError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e, hint: extra });
  }
  return new OdpError(e.code, e.message, {
    cause: e,
    problems: e.problems,
    ...(e.detail !== undefined ? { detail: e.detail } : {}),
    hint: e.hint ? `${e.hint} ${extra}` : extra,
  });
}
