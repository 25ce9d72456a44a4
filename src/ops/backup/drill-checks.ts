// A restore drill's checks on the restored (scratch) database: its key tables
// hold as many rows as the backup counted, and every attachment it references
// in object storage exists, in the backup's copy or in the instance's bucket.
import type { PgClient } from '../../backends/postgres/index.js';
import type { Bucket } from '../../backends/s3/bucket.js';
import { attachmentKeys } from './drill-model.js';
import { compareCounts, countKeyTables, type CountDifference, type RowCounts } from './row-counts.js';

export interface CountCheck {
  expected: RowCounts | null;
  actual: RowCounts;
  differences: CountDifference[];
  /** The words of the phase's outcome. */
  detail: string;
  /** Nothing to compare with: a backup made before the counts were recorded. */
  skipped: boolean;
}

export async function checkCounts(scratch: PgClient, expected: RowCounts | undefined): Promise<CountCheck> {
  const actual = await countKeyTables(scratch);
  if (!expected) {
    return {
      expected: null,
      actual,
      differences: [],
      skipped: true,
      detail: 'skipped: the backup recorded no row counts (made before odp counted them)',
    };
  }
  const differences = compareCounts(expected, actual);
  const said = (n: number | null) => (n === null ? 'no table' : String(n));
  return {
    expected,
    actual,
    differences,
    skipped: false,
    detail: differences.length
      ? differences
          .map((d) => `${d.table} ${said(d.actual)} rows, the backup counted ${said(d.expected)}`)
          .join(', ')
      : `${Object.keys(actual).length} tables, ${Object.values(actual).reduce((a, b) => a + b, 0)} rows, as counted at backup time`,
  };
}

export interface AttachmentCheck {
  referenced: number;
  missing: string[];
  outsideObjectStorage: number;
  detail: string;
}

/**
 * The objects the restored ir_attachment rows point at (attachment_s3's
 * `s3://<bucket>/<key>`): looked up in the backup's `attachments/` copy, and
 * those not there in the instance's bucket (one HEAD each: normally none).
 */
export async function checkAttachments(
  scratch: PgClient,
  backups: Bucket,
  copyPrefix: string,
  instanceBucket: Bucket,
): Promise<AttachmentCheck> {
  const table = await scratch.query<{ t: string | null }>(
    "SELECT to_regclass('public.ir_attachment')::text AS t",
  );
  if (!table.rows[0]?.t) {
    return { referenced: 0, missing: [], outsideObjectStorage: 0, detail: 'no ir_attachment table' };
  }
  const rows = await scratch.query<{ f: string }>(
    'SELECT DISTINCT store_fname AS f FROM ir_attachment WHERE store_fname IS NOT NULL',
  );
  const { keys, outside } = attachmentKeys(rows.rows.map((r) => r.f));
  const copied = new Set<string>();
  for await (const o of backups.list(copyPrefix)) copied.add(o.key.slice(copyPrefix.length));
  const missing: string[] = [];
  for (const k of keys.filter((key) => !copied.has(key))) {
    if ((await instanceBucket.head(k)) === undefined) missing.push(k);
  }
  const elsewhere = outside ? `; ${outside} kept outside object storage (not checked)` : '';
  return {
    referenced: keys.length,
    missing,
    outsideObjectStorage: outside,
    detail: missing.length
      ? `${missing.length} of ${keys.length} referenced objects missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`
      : `${keys.length} referenced objects present${elsewhere}`,
  };
}
