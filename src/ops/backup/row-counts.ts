// Row counts of an Odoo database's key tables, taken at backup time inside the
// very snapshot pg_dump dumps (a REPEATABLE READ transaction whose snapshot is
// exported and handed to `pg_dump --snapshot`), so a restore drill can demand
// the restored counts be equal, not merely close.
import { quoteIdent, type PgClient } from '../../backends/postgres/index.js';
import type { BackupManifest } from './backup-common.js';

/**
 * The tables counted, when they exist. What a customer notices first when it is
 * missing (partners, users, companies, invoices, orders, stock, products,
 * tasks, employees) and what Odoo itself cannot start without (the installed
 * modules) or serves files from (attachments). Line tables and mail_message
 * are left out on purpose: they are the largest tables of a real database (an
 * exact count(*) there costs the most, inside the dump's transaction) and
 * follow their headers, which are counted.
 */
export const KEY_TABLES = [
  'res_company',
  'res_users',
  'res_partner',
  'ir_module_module',
  'ir_attachment',
  'account_move',
  'sale_order',
  'purchase_order',
  'stock_picking',
  'stock_move',
  'product_template',
  'project_task',
  'hr_employee',
] as const;

/** Rows per table, for the key tables the database has. */
export type RowCounts = Record<string, number>;

/** A manifest with the counts; manifests written before them have none. */
export interface CountedManifest extends BackupManifest {
  rowCounts?: RowCounts;
}

/** count(*) of each key table present in `db`'s public schema, in the session's current snapshot. */
export async function countKeyTables(db: PgClient): Promise<RowCounts> {
  const present = await db.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY($1::text[])",
    [[...KEY_TABLES]],
  );
  const names = present.rows.map((r) => r.name).sort();
  if (names.length === 0) return {};
  // One statement: one snapshot even outside a transaction, one round trip.
  const sql = names.map((n) => `(SELECT count(*) FROM public.${quoteIdent(n)})::bigint AS ${quoteIdent(n)}`);
  const r = await db.query<Record<string, string>>(`SELECT ${sql.join(', ')}`);
  const row = r.rows[0] ?? {};
  return Object.fromEntries(names.map((n) => [n, Number(row[n] ?? 0)]));
}

/**
 * Runs `body` (pg_dump) with the id of a snapshot exported from a REPEATABLE
 * READ transaction on `db`, in which the key tables are counted first: the
 * counts and the dump see the same rows. The transaction must stay open until
 * pg_dump has imported the snapshot; it is kept until `body` ends, as
 * pg_dump's own transaction is anyway.
 */
export async function inDumpSnapshot<T>(
  db: PgClient,
  body: (snapshot: string) => Promise<T>,
): Promise<{ result: T; counts: RowCounts }> {
  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const id = (await db.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
    const counts = await countKeyTables(db);
    const result = await body(id);
    await db.query('COMMIT');
    return { result, counts };
  } catch (e) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

export interface CountDifference {
  table: string;
  /** In the backup's manifest; null: the table was not there when it was taken. */
  expected: number | null;
  /** In the restored database; null: the table is missing. */
  actual: number | null;
}

/** The tables whose restored counts differ from those the backup recorded (both sides' tables). */
export function compareCounts(expected: RowCounts, actual: RowCounts): CountDifference[] {
  const tables = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  return tables
    .map((table) => ({ table, expected: expected[table] ?? null, actual: actual[table] ?? null }))
    .filter((d) => d.expected !== d.actual);
}
