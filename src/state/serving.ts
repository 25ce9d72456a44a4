// Which units the edge routes a pinned instance's domain to. A release's units
// carry their release in their names (docs/decisions/0058), so the edge cannot
// derive them from the spec: the operation that switches the edge records them
// here first, and every later rendering of the edge's configuration (another
// deploy, a certificate renewal, `odp serve`) routes to them.
import { openState } from './db.js';

export function setServing(dir: string, project: string, instance: string, servers: string[]): void {
  const db = openState(dir);
  try {
    db.prepare(
      `INSERT INTO serving (project, instance, servers, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (project, instance) DO UPDATE SET servers = excluded.servers, updated_at = excluded.updated_at`,
    ).run(project, instance, JSON.stringify(servers), new Date().toISOString());
  } finally {
    db.close();
  }
}

/** Every recorded route, keyed `project/instance`. */
export function servingAll(dir: string): Map<string, string[]> {
  const db = openState(dir);
  try {
    const rows = db.prepare('SELECT project, instance, servers FROM serving').all() as {
      project: string;
      instance: string;
      servers: string;
    }[];
    return new Map(rows.map((r) => [`${r.project}/${r.instance}`, JSON.parse(r.servers) as string[]]));
  } finally {
    db.close();
  }
}

export function serving(dir: string, project: string, instance: string): string[] | undefined {
  return servingAll(dir).get(`${project}/${instance}`);
}

export function clearServing(dir: string, project: string, instance: string): void {
  const db = openState(dir);
  try {
    db.prepare('DELETE FROM serving WHERE project = ? AND instance = ?').run(project, instance);
  } finally {
    db.close();
  }
}
