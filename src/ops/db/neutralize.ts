// Neutralizing a copy of a customer's database, so integration never acts as
// prod: what `odoo-bin neutralize` (Odoo 16+) and Odoo.sh's staging branches
// do, in SQL that works on any series, because the copy is neutralized before
// any Odoo starts on it. Outgoing mail servers and fetchmail off, scheduled
// actions off, the base URL pinned to the integration domain, a new database
// uuid and secret (so the copy is not the customer's database for Odoo's
// services, and sessions and signed links of prod are worthless there), and
// Odoo's own "neutralized" flag. Tables a database does not have (no mail
// module, no fetchmail) are skipped, not errors.
//
// `verifyNeutralized` is the gate: an instance does not start while one
// outgoing mail server or scheduled action is still active (bemade's
// odoo-operator does the same before it lets a staging copy run).
import { randomUUID } from 'node:crypto';
import { pgError, type PgClient } from '../../backends/postgres/client.js';
import { OdpError, type Problem } from '../../errors.js';

/** Rows changed per table; null when the database has no such table. */
export interface NeutralizeResult {
  ir_mail_server: number | null;
  fetchmail_server: number | null;
  ir_cron: number | null;
  ir_config_parameter: number | null;
}

/** What is still active, per table (0 when the table is absent). */
export interface NeutralityCheck {
  mailServers: number;
  fetchmailServers: number;
  crons: number;
}

/** Tables to switch off: every row gets active = false. */
const SWITCH_OFF = ['ir_mail_server', 'fetchmail_server', 'ir_cron'] as const;

async function hasTable(client: PgClient, table: string): Promise<boolean> {
  const r = await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [table]);
  return r.rows[0]?.found === true;
}

async function hasColumn(client: PgClient, table: string, column: string): Promise<boolean> {
  const r = await client.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM information_schema.columns
                     WHERE table_schema = ANY (current_schemas(false))
                       AND table_name = $1 AND column_name = $2) AS found`,
    [table, column],
  );
  return r.rows[0]?.found === true;
}

/**
 * Neutralizes the database `client` is connected to, in one transaction:
 * all of it or nothing. `domain` is the instance's own (integration) domain.
 */
export async function neutralize(client: PgClient, o: { domain: string }): Promise<NeutralizeResult> {
  const result: NeutralizeResult = {
    ir_mail_server: null,
    fetchmail_server: null,
    ir_cron: null,
    ir_config_parameter: null,
  };
  try {
    await client.query('BEGIN');
    for (const table of SWITCH_OFF) {
      if (!(await hasTable(client, table))) continue;
      // Table names come from the constant list above, never from input.
      const r = await client.query(`UPDATE ${table} SET active = false WHERE active IS NOT false`);
      result[table] = r.rowCount ?? 0;
    }
    if (await hasTable(client, 'ir_config_parameter')) {
      const params: [string, string][] = [
        ['web.base.url', `https://${o.domain}`],
        ['web.base.url.freeze', 'True'],
        // Odoo makes both from uuid1/uuid4; any new unique values do.
        ['database.uuid', randomUUID()],
        ['database.secret', randomUUID()],
        ['database.is_neutralized', 'True'],
      ];
      for (const [key, value] of params) await setParam(client, key, value);
      result.ir_config_parameter = params.length;
    }
    // Odoo 16+ shows a "neutralized database" banner from this view, when it has it.
    if ((await hasTable(client, 'ir_ui_view')) && (await hasColumn(client, 'ir_ui_view', 'key'))) {
      await client.query("UPDATE ir_ui_view SET active = true WHERE key = 'web.neutralize_banner'");
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e instanceof OdpError ? e : pgError('cannot neutralize the database', e);
  }
  return result;
}

/** Sets one ir.config_parameter, inserting it when missing. */
async function setParam(client: PgClient, key: string, value: string): Promise<void> {
  // No ON CONFLICT: it needs the unique index on key, which a partial schema may lack.
  await client.query(
    `WITH updated AS (UPDATE ir_config_parameter SET value = $2 WHERE key = $1 RETURNING 1)
     INSERT INTO ir_config_parameter (key, value)
     SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM updated)`,
    [key, value],
  );
}

interface Active {
  count: number;
  /** The first few, by name, for the message. */
  names: string[];
}

/** The active rows of `table` (none when it does not exist). */
async function active(client: PgClient, table: string, label: string): Promise<Active> {
  if (!(await hasTable(client, table))) return { count: 0, names: [] };
  const count = Number(
    (await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE active`)).rows[0]?.n ?? 0,
  );
  if (count === 0) return { count, names: [] };
  const name = (await hasColumn(client, table, 'name')) ? 'name::text' : 'NULL::text';
  const r = await client.query<{ name: string | null }>(
    `SELECT ${name} AS name FROM ${table} WHERE active ORDER BY 1 LIMIT 5`,
  );
  return { count, names: r.rows.map((x, i) => x.name ?? `${label} #${i + 1}`) };
}

/**
 * The gate before an instance starts on a copy of prod's data: resolves with
 * the counts (all 0) when nothing can reach the outside world, or throws an
 * OdpError naming every outgoing mail server, fetchmail server and scheduled
 * action still active.
 */
export async function verifyNeutralized(client: PgClient): Promise<NeutralityCheck> {
  let found: [Active, Active, Active];
  try {
    found = [
      await active(client, 'ir_mail_server', 'mail server'),
      await active(client, 'fetchmail_server', 'fetchmail server'),
      await active(client, 'ir_cron', 'scheduled action'),
    ];
  } catch (e) {
    throw pgError('cannot verify that the database is neutralized', e);
  }
  const [mail, fetch, crons] = found;
  const problems: Problem[] = [];
  const add = (path: string, what: string, a: Active) => {
    if (a.count === 0) return;
    const more = a.count > a.names.length ? ` and ${a.count - a.names.length} more` : '';
    problems.push({ path, message: `${a.count} ${what} still active: ${a.names.join(', ')}${more}` });
  };
  add('ir_mail_server', 'outgoing mail server(s)', mail);
  add('fetchmail_server', 'fetchmail server(s)', fetch);
  add('ir_cron', 'scheduled action(s)', crons);
  if (problems.length > 0) {
    const what = problems.map((p) => p.message.replace(/ still active:.*$/, '')).join(', ');
    throw new OdpError('DEPLOY_FAILED', `the database is not neutralized: ${what} still active`, {
      problems,
      hint: 'Nothing was started. Deactivate them (UPDATE … SET active = false), or clone again.',
    });
  }
  return { mailServers: mail.count, fetchmailServers: fetch.count, crons: crons.count };
}
