// The platform's scheduled work, as `odp serve` runs it and `odp schedule`
// shows it (src/schedule/runner.ts). Each job goes through the same operation
// as its command: a backup is `odp backup P I` (the instance's lock, the
// history), certificate renewal is `odp certs renew` (the platform lock),
// branch expiry is `odp branches expire`. The list is read from the spec on
// every tick: a project added since the start gets its nightly backups.
import type { Engine } from '../engines/engine.js';
import { isOdpError } from '../errors.js';
import type { EdgeControl } from '../ops/edge/edge-sync.js';
import { loadPlatformDir, type PlatformDir } from '../platformdir/load.js';
import { silentProgress } from '../progress.js';
import type { ScheduledJob } from '../schedule/runner.js';
import { parseTimeOfDay } from '../schedule/cadence.js';

export interface PlatformJobOptions {
  engine: Engine;
  dir: string;
  edge: EdgeControl;
  /** Certificate renewal runs this often (it renews only what is due). */
  renewEveryMs: number;
}

/** Every scheduled job of the platform in `o.dir`, from its spec as it is now. */
export async function platformJobs(o: PlatformJobOptions): Promise<ScheduledJob[]> {
  const pd = await loadPlatformDir(o.dir);
  return [certificateRenewal(o), branchExpiry(o), ...nightlyBackups(pd, o)];
}

export function certificateRenewal(o: PlatformJobOptions): ScheduledJob {
  return {
    key: 'certificates',
    what: 'renew the certificates that are due (odp certs renew)',
    cadence: { kind: 'every', ms: o.renewEveryMs },
    run: async () => {
      // Read afresh each time: a project added since start gets its certificate.
      const pd = await loadPlatformDir(o.dir);
      if (!(await o.edge.running(pd))) return 'edge not running: nothing to renew through';
      const { certify } = await import('../ops/edge/certify.js');
      try {
        const r = await certify(o.engine, o.dir, o.edge, { progress: silentProgress, wait: false });
        const counts = r.certificates.reduce<Record<string, number>>(
          (m, c) => ({ ...m, [c.action]: (m[c.action] ?? 0) + 1 }),
          {},
        );
        return (
          Object.entries(counts)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ') || 'no domains'
        );
      } catch (e) {
        if (isOdpError(e) && e.code === 'BUSY') return `platform busy, tried again next time: ${e.message}`;
        throw e;
      }
    },
  };
}

export function branchExpiry(o: Pick<PlatformJobOptions, 'engine' | 'dir' | 'edge'>): ScheduledJob {
  return {
    key: 'branch-expiry',
    what: 'remove the branch instances idle past branches.expireAfterHours',
    cadence: { kind: 'every', ms: 3_600_000 },
    run: async () => {
      const { expireBranches } = await import('../ops/instance/branches.js');
      const r = await expireBranches(o.engine, o.dir, { edge: o.edge });
      return `${r.expired.length} expired, ${r.kept.length} kept`;
    },
  };
}

/** One nightly backup per integration and prod instance the spec declares, in the backup window. */
export function nightlyBackups(
  pd: PlatformDir,
  o: Pick<PlatformJobOptions, 'engine' | 'dir'>,
): ScheduledJob[] {
  const w = pd.platform.schedule.backups;
  const window = { startMinute: parseTimeOfDay(w.at) ?? 60, minutes: w.hours * 60 };
  const jobs: ScheduledJob[] = [];
  for (const [name, project] of [...pd.projects].sort(([a], [b]) => a.localeCompare(b))) {
    for (const instance of ['integration', 'prod'] as const) {
      if (!project.spec.instances[instance]) continue;
      jobs.push({
        key: `backup:${name}:${instance}`,
        what: `back up ${name}/${instance}: database and attachments (odp backup)`,
        cadence: { kind: 'daily', window },
        run: () => backupIfDeployed(o, pd.platform.name, name, instance),
      });
    }
  }
  return jobs;
}

async function backupIfDeployed(
  o: Pick<PlatformJobOptions, 'engine' | 'dir'>,
  platform: string,
  project: string,
  instance: 'integration' | 'prod',
): Promise<string> {
  // Declared and never deployed: nothing to keep, and no failure to alert on.
  const seen = await o.engine.observe({ platform, project, instance });
  if (seen.units.length === 0) return 'not deployed: nothing to back up';
  const { takeBackup } = await import('../ops/backup/backup.js');
  const r = await takeBackup(o.engine, o.dir, project, instance, { progress: silentProgress });
  return `${r.id}${r.deleted.length ? `, ${r.deleted.length} old deleted` : ''}${r.retentionError ? ` (retention: ${r.retentionError})` : ''}`;
}
