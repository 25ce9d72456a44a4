// A tier's PostgreSQL server as the data operations (`odp restore`, `odp db
// reset`, `odp db clone`) use it: reached from here as its superuser, the
// facts their plans are made of (the role, whether a database exists, the units
// running now) and the steps that drop and create an instance's database.
import { sharedUnit, type Tier } from '../../compose/platform.js';
import { connect, quoteIdent, sqlState, type PgClient } from '../../backends/postgres/index.js';
import { pgError } from '../../backends/postgres/client.js';
import type { Endpoint, Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import type { RunningUnit } from '../../plan/data-ops.js';
import type { PlatformDir } from '../../platformdir/load.js';
import type { Secret } from '../../secret.js';
import { sharedEndpoint } from '../platform/shared-endpoint.js';

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

export async function databaseExists(admin: PgClient, database: string): Promise<boolean> {
  const r = await admin
    .query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
    .catch((e: unknown) => {
      throw pgError(`cannot look up ${database}`, e);
    });
  return r.rowCount === 1;
}

/** The instance's units that run now (Odoo and its sidecar): what its plan stops and starts again. */
export async function runningUnits(
  engine: Engine,
  pd: PlatformDir,
  project: string,
  instance: string,
): Promise<RunningUnit[]> {
  const o = await engine.observe({ platform: pd.platform.name, project, instance });
  return o.units
    .filter((u) => u.state === 'running' || u.state === 'restarting')
    .map((u) => ({ name: u.name, service: u.service }));
}

async function run(admin: PgClient, what: string, database: string, sql: string, params: unknown[] = []) {
  try {
    return await admin.query(sql, params);
  } catch (e) {
    throw pgError(`cannot ${what} ${database}`, e);
  }
}

/**
 * Drops `database` (when it exists); returns the sessions terminated. New
 * sessions are refused first, then open ones are terminated, so the drop
 * cannot lose a race with a client reconnecting; not dropped, it is opened
 * again as it was, so the instance can still use it.
 */
export async function dropDatabase(admin: PgClient, database: string): Promise<number> {
  if (!(await databaseExists(admin, database))) return 0;
  const db = quoteIdent(database);
  await run(admin, 'close', database, `ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
  let terminated = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      const r = await run(
        admin,
        'terminate the sessions of',
        database,
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [database],
      );
      terminated += (r.rows[0] as { n: number } | undefined)?.n ?? 0;
      try {
        await admin.query(`DROP DATABASE ${db}`);
        return terminated;
      } catch (e) {
        // 55006: a terminated session has not gone yet; a few more tries.
        if (sqlState(e) !== '55006' || attempt >= 20) throw pgError(`cannot drop ${database}`, e);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } catch (e) {
    await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`).catch(() => undefined);
    throw e;
  }
}

/** Creates `database` empty, owned by `role`, CONNECT revoked from PUBLIC and granted to the role. */
export async function createDatabase(admin: PgClient, database: string, role: string): Promise<void> {
  const db = quoteIdent(database);
  const owner = quoteIdent(role);
  // template0 and UTF8: Odoo needs a UTF-8 database whatever template1 holds.
  await run(
    admin,
    'create',
    database,
    `CREATE DATABASE ${db} OWNER ${owner} TEMPLATE template0 ENCODING 'UTF8'`,
  );
  await run(admin, 'restrict CONNECT on', database, `REVOKE CONNECT ON DATABASE ${db} FROM PUBLIC`);
  await run(admin, 'grant CONNECT on', database, `GRANT CONNECT ON DATABASE ${db} TO ${owner}`);
}
