// A customer instance's database on a shared cluster: its own LOGIN role, a
// database that role owns, and CONNECT revoked from PUBLIC, so no other
// customer's role can even open it (PostgreSQL grants CONNECT to PUBLIC on
// every new database). Idempotent: each run reads what exists, changes only
// what differs, and says so per object; a second run reports all unchanged.
import { OdpError } from '../../errors.js';
import type { Secret } from '../../secret.js';
import { pgError, quoteIdent, quoteLiteral, sqlState, type PgClient } from './client.js';
import { scramVerifier, verifierMatches } from './scram.js';

export type Change = 'created' | 'updated' | 'unchanged';

export interface DatabaseGrant {
  role: string;
  password: Secret;
  database: string;
}

export interface ProvisionResult {
  role: Change;
  database: Change;
  /** CONNECT revoked from PUBLIC and granted to the role. */
  connect: Change;
}

/** PostgreSQL silently truncates longer identifiers: two long names could become one. */
const MAX_IDENTIFIER_BYTES = 63;

export async function provisionDatabase(admin: PgClient, want: DatabaseGrant): Promise<ProvisionResult> {
  const role = await provisionRole(admin, want);
  const database = await provisionOwnedDatabase(admin, want);
  const connect = await provisionConnect(admin, want);
  return { role, database, connect };
}

/** The instance's LOGIN role, created or its password set when it differs. */
export function provisionRole(admin: PgClient, want: DatabaseGrant): Promise<Change> {
  const password = want.password.reveal();
  const verifier = scramVerifier(password);
  return guarded(want, `cannot provision role ${want.role}`, [password, verifier], () =>
    ensureRole(admin, want.role, password, verifier),
  );
}

/** Its database, owned by the role (created UTF-8 from template0, or its owner set). */
export function provisionOwnedDatabase(admin: PgClient, want: DatabaseGrant): Promise<Change> {
  return guarded(want, `cannot provision database ${want.database}`, [want.password.reveal()], () =>
    ensureDatabase(admin, want.database, want.role),
  );
}

/** CONNECT on the database revoked from PUBLIC and granted to the role. */
export function provisionConnect(admin: PgClient, want: DatabaseGrant): Promise<Change> {
  return guarded(want, `cannot restrict CONNECT on database ${want.database}`, [want.password.reveal()], () =>
    restrictConnect(admin, want.database, want.role),
  );
}

/** Names checked first; any error of `body` without the secrets it may quote. */
async function guarded(
  want: DatabaseGrant,
  step: string,
  secrets: string[],
  body: () => Promise<Change>,
): Promise<Change> {
  for (const [what, name] of [
    ['role', want.role],
    ['database', want.database],
  ] as const) {
    if (!name || Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES)
      throw new OdpError('USAGE', `${what} name "${name}" must be 1 to ${MAX_IDENTIFIER_BYTES} bytes long`);
  }
  try {
    return await body();
  } catch (e) {
    throw e instanceof OdpError ? e : pgError(step, e, secrets);
  }
}

interface RoleRow {
  rolsuper: boolean;
  rolcanlogin: boolean;
  /** null when the admin may not read pg_authid (not a superuser): then we cannot compare. */
  rolpassword: string | null;
  readable: boolean;
}

async function readRole(admin: PgClient, role: string): Promise<RoleRow | undefined> {
  try {
    const r = await admin.query<RoleRow>(
      'SELECT rolsuper, rolcanlogin, rolpassword, true AS readable FROM pg_authid WHERE rolname = $1',
      [role],
    );
    return r.rows[0];
  } catch (e) {
    if (sqlState(e) !== '42501') throw e;
    const r = await admin.query<RoleRow>(
      'SELECT rolsuper, rolcanlogin, NULL AS rolpassword, false AS readable FROM pg_roles WHERE rolname = $1',
      [role],
    );
    return r.rows[0];
  }
}

async function ensureRole(
  admin: PgClient,
  role: string,
  password: string,
  verifier: string,
): Promise<Change> {
  // The SCRAM verifier, not the password, is what the statement carries.
  const pw = quoteLiteral(verifier);
  let found = await readRole(admin, role);
  if (!found) {
    try {
      await admin.query(`CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD ${pw}`);
      return 'created';
    } catch (e) {
      if (sqlState(e) !== '42710') throw e; // duplicate_object: created meanwhile; update it below
      found = await readRole(admin, role);
      if (!found) throw e;
    }
  }
  if (found.rolsuper)
    throw new OdpError('USAGE', `role ${role} is a superuser: refusing to make it a customer's role`);
  const same = found.readable && found.rolcanlogin && verifierMatches(found.rolpassword, password);
  if (same) return 'unchanged';
  await admin.query(`ALTER ROLE ${quoteIdent(role)} LOGIN PASSWORD ${pw}`);
  return 'updated';
}

async function ensureDatabase(admin: PgClient, database: string, role: string): Promise<Change> {
  const owner = async () =>
    (
      await admin.query<{ owner: string }>(
        'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
        [database],
      )
    ).rows[0]?.owner;
  let current = await owner();
  if (current === undefined) {
    try {
      // template0 and UTF8: Odoo needs a UTF-8 database whatever template1 holds.
      await admin.query(
        `CREATE DATABASE ${quoteIdent(database)} OWNER ${quoteIdent(role)} TEMPLATE template0 ENCODING 'UTF8'`,
      );
      return 'created';
    } catch (e) {
      if (sqlState(e) !== '42P04') throw e; // duplicate_database: created meanwhile
      current = await owner();
    }
  }
  if (current === role) return 'unchanged';
  await admin.query(`ALTER DATABASE ${quoteIdent(database)} OWNER TO ${quoteIdent(role)}`);
  return 'updated';
}

async function restrictConnect(admin: PgClient, database: string, role: string): Promise<Change> {
  const can = async (who: string) =>
    (
      await admin.query<{ ok: boolean }>("SELECT has_database_privilege($1, $2, 'CONNECT') AS ok", [
        who,
        database,
      ])
    ).rows[0]?.ok === true;
  let changed = false;
  // PUBLIC first: while it holds CONNECT, the role's own check would pass through it.
  if (await can('public')) {
    await admin.query(`REVOKE CONNECT ON DATABASE ${quoteIdent(database)} FROM PUBLIC`);
    changed = true;
  }
  if (!(await can(role))) {
    await admin.query(`GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(role)}`);
    changed = true;
  }
  return changed ? 'updated' : 'unchanged';
}
