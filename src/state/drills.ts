// The history of restore drills in the state database: one row per drill, with
// the columns a listing needs and the drill's whole record as JSON (what
// `odp drill --json` printed), newest last.
import type { StateDb } from './db.js';

/** What is kept of a drill; `record` is stored as it is. */
export interface DrillRow {
  project: string;
  instance: string;
  backup: string | null;
  startedAt: string;
  seconds: number;
  dataAgeSeconds: number | null;
  outcome: string;
}

export function recordDrill(db: StateDb, row: DrillRow, record: unknown): number {
  const r = db
    .prepare(
      `INSERT INTO restore_drills (project, instance, backup_id, started_at, seconds, data_age_seconds, outcome, record)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      row.project,
      row.instance,
      row.backup,
      row.startedAt,
      row.seconds,
      row.dataAgeSeconds,
      row.outcome,
      JSON.stringify(record),
    );
  return Number(r.lastInsertRowid);
}

/** The newest `limit` drills of the project (one instance, or all), newest first, with their records. */
export function drillsOf(
  db: StateDb,
  project: string,
  instance: string | undefined,
  limit = 20,
): (DrillRow & { id: number; record: unknown })[] {
  const rows = db
    .prepare(
      `SELECT id, project, instance, backup_id, started_at, seconds, data_age_seconds, outcome, record
       FROM restore_drills WHERE project = ? AND (? IS NULL OR instance = ?) ORDER BY id DESC LIMIT ?`,
    )
    .all(project, instance ?? null, instance ?? null, limit) as {
    id: number;
    project: string;
    instance: string;
    backup_id: string | null;
    started_at: string;
    seconds: number;
    data_age_seconds: number | null;
    outcome: string;
    record: string;
  }[];
  return rows.map((r) => ({
    id: r.id,
    project: r.project,
    instance: r.instance,
    backup: r.backup_id,
    startedAt: r.started_at,
    seconds: r.seconds,
    dataAgeSeconds: r.data_age_seconds,
    outcome: r.outcome,
    record: JSON.parse(r.record) as unknown,
  }));
}
