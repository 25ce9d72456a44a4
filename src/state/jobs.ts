// The job queue of `odp serve`, in the state database so that it survives a
// restart. Rules: at most one job runs per instance (`<project>/<instance>`,
// a branch instance being `test@<branch>`); a new job for an instance
// supersedes the ones still queued for it (the newest intent wins: three quick
// pushes deploy once, the last commit); a job left `running` by a server that
// died is queued again when the next one starts. Webhook deliveries are
// recorded by id and body hash, so a replay is recognised and does nothing.
import { branchInstanceLabel, branchSlug } from '../compose/branch.js';
import { hostname } from 'node:os';
import type { StateDb } from './db.js';
import { processAlive } from './process-alive.js';

export const jobStates = ['queued', 'running', 'succeeded', 'failed', 'superseded'] as const;
export type JobState = (typeof jobStates)[number];

export interface Job {
  id: number;
  project: string;
  /** `test`, or `test@<branch>` for a branch instance. */
  instance: string;
  kind: string;
  payload: Record<string, unknown>;
  state: JobState;
  attempts: number;
  /** Not run before this time (a retry waits). */
  notBefore: string;
  /** After this time a job that still cannot run fails. */
  deadline: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  detail: string | null;
}

export interface NewJob {
  project: string;
  instance: string;
  kind: string;
  payload: Record<string, unknown>;
  deadline?: Date;
}

/** The instance a branch's jobs act on. */
export function branchInstance(branch: string): string {
  // The branch instance's own label (`test@<slug>`): its history and its jobs share a key.
  return branchInstanceLabel(branchSlug(branch));
}

/** Queues a job; queued jobs of the same instance are superseded by it. */
export function enqueue(db: StateDb, j: NewJob, now = new Date()): { job: Job; superseded: number[] } {
  return db.transaction(() => {
    const older = db
      .prepare("SELECT id FROM jobs WHERE project = ? AND instance = ? AND state = 'queued'")
      .all(j.project, j.instance) as { id: number }[];
    const at = now.toISOString();
    const id = Number(
      db
        .prepare(
          `INSERT INTO jobs (project, instance, kind, payload, state, attempts, not_before, deadline, created_at)
           VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, ?)`,
        )
        .run(
          j.project,
          j.instance,
          j.kind,
          JSON.stringify(j.payload),
          at,
          j.deadline?.toISOString() ?? null,
          at,
        ).lastInsertRowid,
    );
    const supersede = db.prepare(
      "UPDATE jobs SET state = 'superseded', finished_at = ?, detail = ? WHERE id = ? AND state = 'queued'",
    );
    for (const o of older) supersede.run(at, `superseded by job #${id}`, o.id);
    return { job: getJob(db, id)!, superseded: older.map((o) => o.id) };
  })();
}

/**
 * Takes the oldest job that may run now (due, and its instance free) and marks
 * it running, in one transaction: two workers never take the same job.
 */
export function claimNext(db: StateDb, now = new Date()): Job | undefined {
  return db.transaction(() => {
    const row = db
      .prepare(
        `SELECT * FROM jobs j WHERE state = 'queued' AND not_before <= ?
           AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.state = 'running'
                           AND r.project = j.project AND r.instance = j.instance)
         ORDER BY not_before, id LIMIT 1`,
      )
      .get(now.toISOString()) as Row | undefined;
    if (!row) return undefined;
    db.prepare(
      `UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, pid = ?, host = ?
       WHERE id = ?`,
    ).run(now.toISOString(), process.pid, hostname(), row.id);
    return getJob(db, row.id);
  })();
}

export function finishJob(
  db: StateDb,
  id: number,
  state: 'succeeded' | 'failed',
  detail: string | null,
): void {
  db.prepare('UPDATE jobs SET state = ?, finished_at = ?, detail = ? WHERE id = ?').run(
    state,
    new Date().toISOString(),
    detail,
    id,
  );
}

/** Back to the queue until `notBefore`, unless a newer job for its instance is queued: that one wins. */
export function retryLater(db: StateDb, id: number, notBefore: Date, detail: string): void {
  db.transaction(() => {
    const newer = newerQueued(db, id);
    if (newer !== undefined) {
      db.prepare("UPDATE jobs SET state = 'superseded', finished_at = ?, detail = ? WHERE id = ?").run(
        new Date().toISOString(),
        `${detail}; superseded by job #${newer}`,
        id,
      );
      return;
    }
    db.prepare(
      "UPDATE jobs SET state = 'queued', not_before = ?, detail = ? WHERE id = ? AND state = 'running'",
    ).run(notBefore.toISOString(), detail, id);
  })();
}

/** A job queued after `id` for the same instance, if any. */
function newerQueued(db: StateDb, id: number): number | undefined {
  const row = db
    .prepare(
      `SELECT n.id FROM jobs n JOIN jobs o ON o.id = ? WHERE n.project = o.project
         AND n.instance = o.instance AND n.state = 'queued' AND n.id > o.id ORDER BY n.id LIMIT 1`,
    )
    .get(id) as { id: number } | undefined;
  return row?.id;
}

/** Jobs left running by a process of this host that is gone: queued again, at once. */
export function requeueOrphans(db: StateDb): number[] {
  const running = db.prepare("SELECT id, pid, host FROM jobs WHERE state = 'running'").all() as {
    id: number;
    pid: number | null;
    host: string | null;
  }[];
  const orphans = running.filter((r) => r.host === hostname() && (r.pid === null || !processAlive(r.pid)));
  for (const r of orphans) {
    retryLater(db, r.id, new Date(), `interrupted (server pid ${r.pid ?? '?'} stopped): queued again`);
  }
  return orphans.map((r) => r.id);
}

export function getJob(db: StateDb, id: number): Job | undefined {
  const row = db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
  return row && toJob(row);
}

/** Newest first. */
export function listJobs(db: StateDb, o: { limit?: number; project?: string; state?: JobState } = {}): Job[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (o.project) {
    where.push('project = ?');
    args.push(o.project);
  }
  if (o.state) {
    where.push('state = ?');
    args.push(o.state);
  }
  const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  return (db.prepare(sql).all(...args, o.limit ?? 50) as Row[]).map(toJob);
}

export function queueCounts(db: StateDb): Record<JobState, number> {
  const counts = Object.fromEntries(jobStates.map((s) => [s, 0])) as Record<JobState, number>;
  for (const r of db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all() as {
    state: JobState;
    n: number;
  }[])
    counts[r.state] = r.n;
  return counts;
}

/** How long a delivery is remembered (a replay older than this is not recognised), and how many at most. */
export const DELIVERY_RETENTION = { days: 90, rows: 200_000 };

/**
 * Records a delivery and does its work in one transaction: a delivery seen
 * before (its id, or with `bodySha256` its body) does nothing (`duplicate`),
 * and the delivery is kept only if the work was done. The transaction takes
 * the write lock first, so two servers on one database never both do the work.
 */
export function withDelivery<T extends { outcome: string; jobIds?: number[]; detail?: string }>(
  db: StateDb,
  d: { source: string; id: string; event: string; bodySha256?: string },
  work: () => T,
  now = new Date(),
): { duplicate: true; by: 'id' | 'body'; of: string } | { duplicate: false; result: T } {
  return db
    .transaction(() => {
      pruneDeliveries(db, now);
      const seen = db
        .prepare('SELECT 1 FROM webhook_deliveries WHERE source = ? AND id = ?')
        .get(d.source, d.id);
      if (seen) return { duplicate: true as const, by: 'id' as const, of: d.id };
      if (d.bodySha256) {
        const same = db
          .prepare('SELECT id FROM webhook_deliveries WHERE source = ? AND body_sha256 = ? LIMIT 1')
          .get(d.source, d.bodySha256) as { id: string } | undefined;
        if (same) return { duplicate: true as const, by: 'body' as const, of: same.id };
      }
      db.prepare(
        `INSERT INTO webhook_deliveries (source, id, event, received_at, outcome, body_sha256)
         VALUES (?, ?, ?, ?, 'received', ?)`,
      ).run(d.source, d.id, d.event, now.toISOString(), d.bodySha256 ?? null);
      const result = work();
      db.prepare(
        'UPDATE webhook_deliveries SET outcome = ?, job_id = ?, detail = ? WHERE source = ? AND id = ?',
      ).run(result.outcome, result.jobIds?.[0] ?? null, result.detail ?? null, d.source, d.id);
      return { duplicate: false as const, result };
    })
    .immediate();
}

/** Deliveries older than the retention, and beyond its row count, are forgotten. */
function pruneDeliveries(db: StateDb, now: Date): void {
  const cutoff = new Date(now.getTime() - DELIVERY_RETENTION.days * 86_400_000).toISOString();
  db.prepare('DELETE FROM webhook_deliveries WHERE received_at < ?').run(cutoff);
  db.prepare(
    `DELETE FROM webhook_deliveries WHERE rowid <= (SELECT rowid FROM webhook_deliveries
       ORDER BY rowid DESC LIMIT 1 OFFSET ?)`,
  ).run(DELIVERY_RETENTION.rows);
}

export function deliveryCount(db: StateDb, source?: string): number {
  const row = (
    source
      ? db.prepare('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE source = ?').get(source)
      : db.prepare('SELECT COUNT(*) AS n FROM webhook_deliveries').get()
  ) as { n: number };
  return row.n;
}

export interface DeliveryRow {
  source: string;
  id: string;
  event: string;
  receivedAt: string;
  outcome: string;
  detail: string | null;
}

/** Deliveries that were received but caused nothing, with why; newest first. */
export function ignoredDeliveries(db: StateDb, limit = 20): DeliveryRow[] {
  return db
    .prepare(
      `SELECT source, id, event, received_at AS receivedAt, outcome, detail FROM webhook_deliveries
       WHERE outcome = 'ignored' ORDER BY received_at DESC, rowid DESC LIMIT ?`,
    )
    .all(limit) as DeliveryRow[];
}

export interface DeployableVersion {
  project: string;
  version: string;
  sha: string | null;
  at: string;
}

/** A released version (a tag), once; a later event with its commit id fills it in. */
export function recordVersion(db: StateDb, project: string, version: string, sha: string | undefined): void {
  db.prepare(
    `INSERT INTO deployable_versions (project, version, sha, at) VALUES (?, ?, ?, ?)
     ON CONFLICT (project, version) DO UPDATE SET sha = COALESCE(excluded.sha, sha)`,
  ).run(project, version, sha ?? null, new Date().toISOString());
}

/** Newest first. */
export function deployableVersions(db: StateDb, project: string): DeployableVersion[] {
  return db
    .prepare(
      'SELECT project, version, sha, at FROM deployable_versions WHERE project = ? ORDER BY at DESC, version DESC',
    )
    .all(project) as DeployableVersion[];
}

interface Row {
  id: number;
  project: string;
  instance: string;
  kind: string;
  payload: string;
  state: JobState;
  attempts: number;
  not_before: string;
  deadline: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  detail: string | null;
}

function toJob(r: Row): Job {
  return {
    id: r.id,
    project: r.project,
    instance: r.instance,
    kind: r.kind,
    payload: JSON.parse(r.payload) as Record<string, unknown>,
    state: r.state,
    attempts: r.attempts,
    notBefore: r.not_before,
    deadline: r.deadline,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    detail: r.detail,
  };
}
