// What a restore drill decides and records, without I/O: which instance and
// backup it drills, the record of a drill (its phases, how long each took, how
// old the data was) and the message that names what failed.
import type { Tier } from '../../compose/platform.js';
import { OdpError } from '../../errors.js';
import type { BackupSummary } from './backup-common.js';
import type { CountDifference, RowCounts } from './row-counts.js';

export type PhaseName = 'choose' | 'restore' | 'row-counts' | 'attachments' | 'odoo' | 'drop';
export type PhaseOutcome = 'passed' | 'failed' | 'skipped';

export interface DrillPhase {
  name: PhaseName;
  outcome: PhaseOutcome;
  seconds: number;
  detail: string;
}

export interface DrillRecord {
  project: string;
  instance: Tier;
  /** The backup drilled; null when none could be chosen. */
  backup: string | null;
  backupCreatedAt: string | null;
  startedAt: string;
  finishedAt: string;
  /** The whole drill, wall time. */
  seconds: number;
  /** How old the restored data was when the drill started: what a restore now would lose. */
  dataAgeSeconds: number | null;
  outcome: 'passed' | 'failed';
  phases: DrillPhase[];
  /** The scratch database, on the tier's PostgreSQL; dropped at the end. */
  scratch: string;
  counts?: { expected: RowCounts | null; actual: RowCounts; differences: CountDifference[] };
  attachments?: { referenced: number; missing: string[]; outsideObjectStorage: number };
  /** The image Odoo was started from. */
  image?: string;
}

/** The instance a drill drills: the one named, else prod, else integration (what holds data). */
export function drillTier(declared: { prod?: unknown; integration?: unknown }, project: string): Tier {
  if (declared.prod) return 'prod';
  if (declared.integration) return 'integration';
  throw new OdpError('NOT_FOUND', `${project} has neither a prod nor an integration instance to drill`);
}

/** The backup to drill: `wanted`, or the newest complete one (`all` is newest first). */
export function chooseBackup(
  all: readonly BackupSummary[],
  wanted: string | undefined,
  what: string,
): BackupSummary {
  if (wanted) {
    const b = all.find((x) => x.id === wanted);
    if (!b) throw new OdpError('NOT_FOUND', `no backup ${wanted} of ${what}`);
    if (!b.complete)
      throw new OdpError('NOT_FOUND', `backup ${wanted} of ${what} is incomplete (no manifest)`);
    return b;
  }
  const newest = all.find((b) => b.complete);
  if (!newest) throw new OdpError('NOT_FOUND', `${what} has no complete backup to drill`);
  return newest;
}

/** What failed, one line per failed phase: the message of a failed drill. */
export function failureMessage(r: Pick<DrillRecord, 'project' | 'instance' | 'backup' | 'phases'>): string {
  const failed = r.phases.filter((p) => p.outcome === 'failed');
  const of = `restore drill of ${r.project}/${r.instance}${r.backup ? ` (backup ${r.backup})` : ''}`;
  if (failed.length === 0) return `${of} passed`;
  return `${of} failed: ${failed.map((p) => `${p.name}: ${p.detail}`).join('; ')}`;
}

/** The store_fname of attachment_s3 (`s3://<bucket>/<key>`) → its key; anything else is not in object storage. */
export function attachmentKeys(storeFnames: readonly string[]): { keys: string[]; outside: number } {
  const keys: string[] = [];
  let outside = 0;
  for (const f of storeFnames) {
    const m = /^s3:\/\/[^/]+\/(.+)$/.exec(f);
    if (m) keys.push(m[1]!);
    else outside += 1;
  }
  return { keys: [...new Set(keys)].sort(), outside };
}

/** Seconds between two instants, to the tenth. */
export const secondsBetween = (from: number, to: number): number => Math.round((to - from) / 100) / 10;
