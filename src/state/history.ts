// The record of operations on instances (issue: "every deploy is recorded").
// An operation is written as `running` when it starts; steps are appended as
// they end; the end writes its outcome. One found `running` whose process is
// gone was interrupted (odp killed mid-way): reading the history says so.
import { hostname, userInfo } from 'node:os';
import type { Progress } from '../progress.js';
import { openState, type StateDb } from './db.js';
import { processAlive } from './process-alive.js';

export type Outcome = 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface OperationRecord {
  id: number;
  project: string;
  instance: string;
  kind: string;
  version: string | null;
  actor: string;
  startedAt: string;
  finishedAt: string | null;
  outcome: Outcome;
  detail: string | null;
  fromVersion: string | null;
  backupId: string | null;
  /** For an interrupted operation: the one that completed or undid it. */
  settledBy: number | null;
  /** The plan it ran (operations that are plans: pinned instances' deploys and rollbacks). */
  plan: unknown;
  steps: {
    /** A plan step's kind and id; null for other steps. */
    kind: string | null;
    id: string | null;
    step: string;
    outcome: string;
    startedAt: string;
    seconds: number | null;
    detail: string | null;
  }[];
}

/** What a running operation may add to its record as it learns it. */
export interface OperationHandle {
  id: number;
  annotate(a: Annotations): void;
}

export interface Annotations {
  /** The version the instance ran before (what a rollback goes back to). */
  fromVersion?: string;
  /** The backup taken before a migration (the database's restore point). */
  backupId?: string;
  /** The plan the operation runs, as data (no secret is in a plan). */
  plan?: unknown;
}

function actor(): string {
  return process.env.ODP_ACTOR ?? `${safeUser()}@${hostname()}`;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * Runs `body` as a recorded operation: its progress events become steps, its
 * result or error the outcome. The progress given to `body` still reaches the user.
 */
export async function recorded<T>(
  dir: string,
  meta: { project: string; instance: string; kind: string; version?: string },
  progress: Progress,
  body: (progress: Progress, op: OperationHandle) => Promise<T>,
): Promise<T> {
  const db = openState(dir);
  const id = Number(
    db
      .prepare(
        `INSERT INTO operations (project, instance, kind, version, actor, pid, host, started_at, outcome)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running')`,
      )
      .run(
        meta.project,
        meta.instance,
        meta.kind,
        meta.version ?? null,
        actor(),
        process.pid,
        hostname(),
        now(),
      ).lastInsertRowid,
  );
  // A step is written when it starts and updated when it ends: one that a
  // killed odp left behind stays `running`, and the next command can see how
  // far the operation got (an interrupted migration is undone, not guessed at).
  let seq = 0;
  const open = new Map<string, { seq: number; at: number }>();
  const begin = db.prepare(
    `INSERT INTO operation_steps (operation_id, seq, step, outcome, started_at, kind, ident)
     VALUES (?, ?, ?, 'running', ?, ?, ?)`,
  );
  const close = db.prepare(
    'UPDATE operation_steps SET outcome = ?, seconds = ?, detail = ? WHERE operation_id = ? AND seq = ?',
  );
  const end = (key: string, outcome: string, detail: string | null) => {
    const s = open.get(key);
    if (!s) return;
    open.delete(key);
    close.run(outcome, (Date.now() - s.at) / 1000, detail, id, s.seq);
  };
  const tee: Progress = {
    start: (key, text, step) => {
      end(key, 'replaced', null);
      open.set(key, { seq: ++seq, at: Date.now() });
      begin.run(id, seq, text, now(), step?.kind ?? null, step?.id ?? null);
      progress.start(key, text, step);
    },
    done: (key, text) => {
      end(key, 'ok', null);
      progress.done(key, text);
    },
    fail: (key, text) => {
      end(key, 'failed', text);
      progress.fail(key, text);
    },
    note: (text) => progress.note(text),
  };
  const finish = (outcome: Outcome, detail: string | null) =>
    db
      .prepare('UPDATE operations SET outcome = ?, finished_at = ?, detail = ? WHERE id = ?')
      .run(outcome, now(), detail, id);
  const handle: OperationHandle = {
    id,
    annotate: (a) => {
      if (a.fromVersion !== undefined)
        db.prepare('UPDATE operations SET from_version = ? WHERE id = ?').run(a.fromVersion, id);
      if (a.backupId !== undefined)
        db.prepare('UPDATE operations SET backup_id = ? WHERE id = ?').run(a.backupId, id);
      if (a.plan !== undefined)
        db.prepare('UPDATE operations SET plan = ? WHERE id = ?').run(JSON.stringify(a.plan), id);
    },
  };
  // Steps the body left open (its error ended them without a word) end with it.
  const endOpen = (outcome: string) => [...open.keys()].forEach((k) => end(k, outcome, null));
  try {
    const result = await body(tee, handle);
    endOpen('ok');
    finish('succeeded', null);
    return result;
  } catch (e) {
    endOpen('failed');
    finish('failed', e instanceof Error ? e.message : String(e));
    throw e;
  } finally {
    db.close();
  }
}

/** An operation odp was killed in and that nothing has settled yet. */
export interface Unsettled {
  id: number;
  kind: string;
  version: string | null;
  startedAt: string;
}

/**
 * For every instance at once (`odp status` of a whole platform: one open of the
 * state database, not one per instance): the interrupted, unsettled operation
 * among its `within` newest, keyed `project/instance`.
 */
export function unsettledInterrupted(dir: string, within = 5): Map<string, Unsettled> {
  const db = openState(dir);
  try {
    markInterrupted(db);
    const rows = db
      .prepare(
        `SELECT id, project, instance, kind, version, started_at FROM (
           SELECT *, ROW_NUMBER() OVER (PARTITION BY project, instance ORDER BY id DESC) AS n
           FROM operations)
         WHERE n <= ? AND outcome = 'interrupted' AND settled_by IS NULL ORDER BY id DESC`,
      )
      .all(within) as Record<string, unknown>[];
    const out = new Map<string, Unsettled>();
    for (const r of rows) {
      const key = `${r.project as string}/${r.instance as string}`;
      if (out.has(key)) continue; // the newest one, as history(…).find would
      out.set(key, {
        id: r.id as number,
        kind: r.kind as string,
        version: (r.version as string | null) ?? null,
        startedAt: r.started_at as string,
      });
    }
    return out;
  } finally {
    db.close();
  }
}

/** The newest operations of an instance, with their steps; interrupted ones marked so. */
export function history(dir: string, project: string, instance: string, limit = 20): OperationRecord[] {
  const db = openState(dir);
  try {
    markInterrupted(db);
    const ops = db
      .prepare('SELECT * FROM operations WHERE project = ? AND instance = ? ORDER BY id DESC LIMIT ?')
      .all(project, instance, limit) as Record<string, unknown>[];
    const steps = db.prepare('SELECT * FROM operation_steps WHERE operation_id = ? ORDER BY seq');
    return ops.map((o) => ({
      fromVersion: (o.from_version as string | null) ?? null,
      backupId: (o.backup_id as string | null) ?? null,
      settledBy: (o.settled_by as number | null) ?? null,
      plan: o.plan ? (JSON.parse(o.plan as string) as unknown) : null,
      id: o.id as number,
      project: o.project as string,
      instance: o.instance as string,
      kind: o.kind as string,
      version: (o.version as string | null) ?? null,
      actor: o.actor as string,
      startedAt: o.started_at as string,
      finishedAt: (o.finished_at as string | null) ?? null,
      outcome: o.outcome as Outcome,
      detail: (o.detail as string | null) ?? null,
      steps: (steps.all(o.id) as Record<string, unknown>[]).map((s) => ({
        kind: (s.kind as string | null) ?? null,
        id: (s.ident as string | null) ?? null,
        step: s.step as string,
        outcome: s.outcome as string,
        startedAt: s.started_at as string,
        seconds: (s.seconds as number | null) ?? null,
        detail: (s.detail as string | null) ?? null,
      })),
    }));
  } finally {
    db.close();
  }
}

/** Operations left `running` by a process of this host that no longer exists. */
export function markInterrupted(db: StateDb): number {
  const running = db.prepare("SELECT id, pid, host FROM operations WHERE outcome = 'running'").all() as {
    id: number;
    pid: number;
    host: string;
  }[];
  let n = 0;
  for (const r of running) {
    if (r.host !== hostname() || processAlive(r.pid)) continue;
    db.prepare("UPDATE operations SET outcome = 'interrupted', detail = ? WHERE id = ?").run(
      `odp (pid ${r.pid}) stopped before it finished`,
      r.id,
    );
    db.prepare(
      "UPDATE operation_steps SET outcome = 'interrupted' WHERE operation_id = ? AND outcome = 'running'",
    ).run(r.id);
    n++;
  }
  return n;
}

function now(): string {
  return new Date().toISOString();
}

/** Marks an interrupted operation as completed or undone by operation `by`. */
export function settle(dir: string, id: number, by: number): void {
  const db = openState(dir);
  try {
    db.prepare('UPDATE operations SET settled_by = ? WHERE id = ?').run(by, id);
  } finally {
    db.close();
  }
}
