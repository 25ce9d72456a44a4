// The branch instances that run: recorded in the state database when deployed,
// forgotten when removed. The spec names the instances people declare; these
// come and go with branches, so the edge and expiry read them from here.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OdpError } from '../errors.js';
import { openState, type StateDb } from './db.js';
import { stateDir } from './state-dir.js';
import { claimRedisPrefix } from './prefixes.js';

export interface BranchRecord {
  project: string;
  branch: string;
  slug: string;
  stack: string;
  domain: string;
  tag: string;
  createdAt: string;
  lastDeployAt: string;
}

const COLUMNS = `project, branch, slug, stack, domain, tag,
  created_at AS createdAt, last_deploy_at AS lastDeployAt`;

function withState<T>(dir: string, body: (db: StateDb) => T): T {
  const db = openState(dir);
  try {
    return body(db);
  } finally {
    db.close();
  }
}

/**
 * Another branch of the project whose name gives the same slug (its names would
 * be this one's): refused before anything is deployed.
 */
export function slugOwner(dir: string, project: string, slug: string): string | undefined {
  return withState(dir, (db) => {
    const row = db
      .prepare('SELECT branch FROM branch_instances WHERE project = ? AND slug = ?')
      .get(project, slug) as { branch: string } | undefined;
    return row?.branch;
  });
}

/** Records a deploy: a new row, or the tag and time of the last deploy of a known one. */
export function recordBranchDeploy(
  dir: string,
  r: Omit<BranchRecord, 'createdAt' | 'lastDeployAt'>,
  at: Date = new Date(),
): 'created' | 'updated' {
  return withState(dir, (db) =>
    db.transaction(() => {
      const owner = db
        .prepare('SELECT branch FROM branch_instances WHERE project = ? AND slug = ?')
        .get(r.project, r.slug) as { branch: string } | undefined;
      if (owner && owner.branch !== r.branch) {
        throw new OdpError('ALREADY_EXISTS', `slug ${r.slug} already names branch ${owner.branch}`);
      }
      // Its own Redis session prefix, claimed like any instance's.
      claimRedisPrefix(db, r.stack, { project: r.project, instance: `test@${r.slug}` });
      const now = at.toISOString();
      const changed = db
        .prepare(
          `UPDATE branch_instances SET stack = ?, domain = ?, tag = ?, last_deploy_at = ?
           WHERE project = ? AND branch = ?`,
        )
        .run(r.stack, r.domain, r.tag, now, r.project, r.branch).changes;
      if (changed) return 'updated' as const;
      db.prepare(
        `INSERT INTO branch_instances (project, branch, slug, stack, domain, tag, created_at, last_deploy_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(r.project, r.branch, r.slug, r.stack, r.domain, r.tag, now, now);
      return 'created' as const;
    })(),
  );
}

export function getBranch(dir: string, project: string, branch: string): BranchRecord | undefined {
  return withState(
    dir,
    (db) =>
      db
        .prepare(`SELECT ${COLUMNS} FROM branch_instances WHERE project = ? AND branch = ?`)
        .get(project, branch) as BranchRecord | undefined,
  );
}

/** Every branch instance (of one project), oldest deploy first. */
export function listBranches(dir: string, project?: string): BranchRecord[] {
  return withState(
    dir,
    (db) =>
      db
        .prepare(
          `SELECT ${COLUMNS} FROM branch_instances ${project ? 'WHERE project = ?' : ''}
           ORDER BY last_deploy_at, project, branch`,
        )
        .all(...(project ? [project] : [])) as BranchRecord[],
  );
}

/** Forgets a branch instance and frees its Redis prefix; false when it was not recorded. */
export function forgetBranch(dir: string, project: string, branch: string): boolean {
  return withState(dir, (db) =>
    db.transaction(() => {
      const row = db
        .prepare('SELECT slug, stack FROM branch_instances WHERE project = ? AND branch = ?')
        .get(project, branch) as { slug: string; stack: string } | undefined;
      if (!row) return false;
      db.prepare('DELETE FROM branch_instances WHERE project = ? AND branch = ?').run(project, branch);
      db.prepare('DELETE FROM redis_prefixes WHERE prefix = ? AND project = ? AND instance = ?').run(
        row.stack,
        project,
        `test@${row.slug}`,
      );
      return true;
    })(),
  );
}

/**
 * The domains and stacks the edge routes for branch instances of these projects.
 * Reading never creates the state database: a platform that never ran has none.
 */
export function branchRoutes(dir: string, projects: readonly string[]): { domain: string; stack: string }[] {
  if (projects.length === 0 || !existsSync(join(stateDir(dir), 'state.sqlite'))) return [];
  const wanted = new Set(projects);
  return listBranches(dir)
    .filter((b) => wanted.has(b.project))
    .sort((a, b) => a.domain.localeCompare(b.domain))
    .map((b) => ({ domain: b.domain, stack: b.stack }));
}
