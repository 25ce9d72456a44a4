// Domains the edge answers with its maintenance page. Kept in the state
// database, not in the process that set them: any later edge sync (another
// deploy, a certificate renewal, `odp serve`) renders them in maintenance
// until the operation that set them clears them, or undoes itself.
import { openState } from './db.js';

export interface MaintenanceEntry {
  domain: string;
  project: string;
  instance: string;
  since: string;
}

export function setMaintenance(dir: string, e: Omit<MaintenanceEntry, 'since'>): void {
  const db = openState(dir);
  try {
    db.prepare(
      `INSERT INTO maintenance (domain, project, instance, since) VALUES (?, ?, ?, ?)
       ON CONFLICT (domain) DO NOTHING`,
    ).run(e.domain, e.project, e.instance, new Date().toISOString());
  } finally {
    db.close();
  }
}

export function clearMaintenance(dir: string, domain: string): boolean {
  const db = openState(dir);
  try {
    return db.prepare('DELETE FROM maintenance WHERE domain = ?').run(domain).changes > 0;
  } finally {
    db.close();
  }
}

export function maintenanceEntries(dir: string): MaintenanceEntry[] {
  const db = openState(dir);
  try {
    return db
      .prepare('SELECT domain, project, instance, since FROM maintenance ORDER BY domain')
      .all() as MaintenanceEntry[];
  } finally {
    db.close();
  }
}
