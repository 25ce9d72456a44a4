// The platform's state: an embedded SQLite database in the state directory
// (certificates and ACME accounts, deploy history, the job queue). Migrations
// are numbered and applied in order at open, inside one transaction each.
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isReadingState } from './read-only.js';
import { stateDir } from './state-dir.js';

export type StateDb = Database.Database;

/** Schema steps, in order; never edit a released one, add the next. */
const migrations: string[] = [
  `CREATE TABLE acme_accounts (
     directory TEXT PRIMARY KEY,
     email TEXT NOT NULL,
     key_pem TEXT NOT NULL,
     url TEXT,
     created_at TEXT NOT NULL
   );
   CREATE TABLE certificates (
     domain TEXT PRIMARY KEY,
     cert_pem TEXT NOT NULL,
     key_pem TEXT NOT NULL,
     not_before TEXT NOT NULL,
     not_after TEXT NOT NULL,
     issuer TEXT NOT NULL,
     directory TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE certificate_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     domain TEXT NOT NULL,
     at TEXT NOT NULL,
     outcome TEXT NOT NULL,
     detail TEXT,
     retry_after TEXT
   );`,
  // Which instance owns which Redis session prefix: two instances never share one.
  `CREATE TABLE redis_prefixes (
     prefix TEXT PRIMARY KEY,
     project TEXT NOT NULL,
     instance TEXT NOT NULL,
     created_at TEXT NOT NULL
   );`,
  // Configurations a binary already accepted (nginx -t in a given image): not checked twice.
  `CREATE TABLE validated_configs (
     digest TEXT PRIMARY KEY,
     what TEXT NOT NULL,
     at TEXT NOT NULL
   );`,
  // Every operation on an instance: who ran what, each step, how long, how it ended.
  `CREATE TABLE operations (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     project TEXT NOT NULL,
     instance TEXT NOT NULL,
     kind TEXT NOT NULL,
     version TEXT,
     actor TEXT NOT NULL,
     pid INTEGER NOT NULL,
     host TEXT NOT NULL,
     started_at TEXT NOT NULL,
     finished_at TEXT,
     outcome TEXT NOT NULL,
     detail TEXT
   );
   CREATE TABLE operation_steps (
     operation_id INTEGER NOT NULL REFERENCES operations(id),
     seq INTEGER NOT NULL,
     step TEXT NOT NULL,
     outcome TEXT NOT NULL,
     started_at TEXT NOT NULL,
     seconds REAL,
     detail TEXT,
     PRIMARY KEY (operation_id, seq)
   );
   CREATE INDEX operations_instance ON operations (project, instance, id);`,
  // What an upgrade changed, for `odp rollback` and for undoing an interrupted one:
  // the version it replaced, the backup taken before its migration, and which
  // later operation settled an interrupted one. Domains the edge serves its
  // maintenance page for, kept here so that any later edge sync keeps them so.
  `ALTER TABLE operations ADD COLUMN from_version TEXT;
   ALTER TABLE operations ADD COLUMN backup_id TEXT;
   ALTER TABLE operations ADD COLUMN settled_by INTEGER;
   CREATE TABLE maintenance (
     domain TEXT PRIMARY KEY,
     project TEXT NOT NULL,
     instance TEXT NOT NULL,
     since TEXT NOT NULL
   );`,
  // `odp serve`'s webhooks and job queue: deliveries already handled (a replay
  // is refused by its id), the jobs (one running per instance, newest intent
  // wins), and the versions a tag made deployable.
  `CREATE TABLE webhook_deliveries (
     source TEXT NOT NULL,
     id TEXT NOT NULL,
     event TEXT NOT NULL,
     received_at TEXT NOT NULL,
     outcome TEXT NOT NULL,
     job_id INTEGER,
     PRIMARY KEY (source, id)
   );
   CREATE TABLE jobs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     project TEXT NOT NULL,
     instance TEXT NOT NULL,
     kind TEXT NOT NULL,
     payload TEXT NOT NULL,
     state TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     not_before TEXT NOT NULL,
     deadline TEXT,
     created_at TEXT NOT NULL,
     started_at TEXT,
     finished_at TEXT,
     detail TEXT,
     pid INTEGER,
     host TEXT
   );
   CREATE INDEX jobs_state ON jobs (state, not_before);
   CREATE INDEX jobs_instance ON jobs (project, instance, state);
   CREATE TABLE deployable_versions (
     project TEXT NOT NULL,
     version TEXT NOT NULL,
     sha TEXT,
     at TEXT NOT NULL,
     PRIMARY KEY (project, version)
   );`,
  // Branch instances (ephemeral test instances, one per git branch): they live
  // here, not in the spec, so the edge routes them and expiry finds them.
  `CREATE TABLE branch_instances (
     project TEXT NOT NULL,
     branch TEXT NOT NULL,
     slug TEXT NOT NULL,
     stack TEXT NOT NULL,
     domain TEXT NOT NULL UNIQUE,
     tag TEXT NOT NULL,
     created_at TEXT NOT NULL,
     last_deploy_at TEXT NOT NULL,
     PRIMARY KEY (project, branch),
     UNIQUE (project, slug)
   );`,
  // GitHub does not sign its delivery id: a delivery is also known by the
  // SHA-256 of its body, so a captured push sent again under a new id is a
  // duplicate. Why a delivery was ignored is kept for `odp jobs`; old rows are
  // pruned by received_at.
  `ALTER TABLE webhook_deliveries ADD COLUMN body_sha256 TEXT;
   ALTER TABLE webhook_deliveries ADD COLUMN detail TEXT;
   CREATE INDEX webhook_deliveries_body ON webhook_deliveries (source, body_sha256);
   CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);`,
  // Operations on pinned instances are plans (docs/decisions/0058): the plan is
  // kept with the operation and each step recorded by its kind and id, which is
  // what settling an interrupted one reads. The edge routes each pinned
  // instance's domain to the units recorded in `serving`, whatever their release.
  `ALTER TABLE operations ADD COLUMN plan TEXT;
   ALTER TABLE operation_steps ADD COLUMN kind TEXT;
   ALTER TABLE operation_steps ADD COLUMN ident TEXT;
   CREATE TABLE serving (
     project TEXT NOT NULL,
     instance TEXT NOT NULL,
     servers TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (project, instance)
   );`,
  // The schedule `odp serve` runs (src/schedule/): when each job was first
  // known (a slot missed since then is caught up), who runs it now (no two runs
  // of one job at once, across processes), and every run with its outcome.
  `CREATE TABLE schedule_jobs (
     key TEXT PRIMARY KEY,
     first_seen TEXT NOT NULL,
     running_since TEXT,
     runner_pid INTEGER,
     runner_host TEXT
   );
   CREATE TABLE schedule_runs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     key TEXT NOT NULL,
     started_at TEXT NOT NULL,
     finished_at TEXT,
     outcome TEXT NOT NULL,
     catch_up INTEGER NOT NULL DEFAULT 0,
     detail TEXT
   );
   CREATE INDEX schedule_runs_key ON schedule_runs (key, started_at);`,
  // Restore drills (`odp drill`, and the weekly restore-drill jobs): each one's
  // outcome, how long it took and how old the data was, with its whole record.
  `CREATE TABLE restore_drills (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     project TEXT NOT NULL,
     instance TEXT NOT NULL,
     backup_id TEXT,
     started_at TEXT NOT NULL,
     seconds REAL NOT NULL,
     data_age_seconds INTEGER,
     outcome TEXT NOT NULL,
     record TEXT NOT NULL
   );
   CREATE INDEX restore_drills_instance ON restore_drills (project, instance, id);`,
];

export function openState(platformDir: string): StateDb {
  const dir = stateDir(platformDir);
  const file = join(dir, 'state.sqlite');
  if (isReadingState() && !existsSync(file)) {
    // Nothing recorded yet: an empty database in memory answers as the file would.
    const empty = new Database(':memory:');
    migrate(empty);
    return empty;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Private keys live here: the file is created owner-only before SQLite opens it.
  closeSync(openSync(file, 'a', 0o600));
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

function migrate(db: StateDb): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  let version = row?.version ?? 0;
  if (!row) db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
  for (; version < migrations.length; version++) {
    const step = migrations[version]!;
    db.transaction(() => {
      db.exec(step);
      db.prepare('UPDATE schema_version SET version = ?').run(version + 1);
    })();
  }
}
