// The platform's scheduled work, as `odp serve` runs it and `odp schedule`
// shows it (src/schedule/runner.ts). Each job goes through the same operation
// as its command: a backup is `odp backup P I` (the instance's lock, the
// history), certificate renewal is `odp certs renew` (the platform lock),
// branch expiry is `odp branches expire`, a restore drill is `odp drill P`. The list is read from the spec on
// every tick: a project added since the start gets its nightly backups.
import type { Engine } from '../engines/engine.js';
import { isOdpError } from '../errors.js';
import { drillTier } from '../ops/backup/drill-model.js';
import type { Tier } from '../compose/platform.js';
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

/** What a job on an instance runs with. */
type JobEnv = Pick<PlatformJobOptions, 'engine' | 'dir'>;

/** Every scheduled job of the platform in `o.dir`, from its spec as it is now. */
export async function platformJobs(o: PlatformJobOptions): Promise<ScheduledJob[]> {
  const pd = await loadPlatformDir(o.dir);
  return [certificateRenewal(o), branchExpiry(o), ...nightlyBackups(pd, o), ...restoreDrills(pd, o)];
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
        run: () =>
          ifDeployed(o, { platform: pd.platform.name, project: name, instance }, () =>
            backUp(o, name, instance),
          ),
      });
    }
  }
  return jobs;
}

/** Backs the instance up (`odp backup`); what the run's record says. */
async function backUp(o: JobEnv, project: string, instance: Tier): Promise<string> {
  const { takeBackup } = await import('../ops/backup/backup.js');
  const r = await takeBackup(o.engine, o.dir, project, instance, { progress: silentProgress });
  return `${r.id}${r.deleted.length ? `, ${r.deleted.length} old deleted` : ''}${r.retentionError ? ` (retention: ${r.retentionError})` : ''}`;
}

/**
 * `body`, when something of the instance runs. Declared and never deployed:
 * nothing to keep or drill, and no failure to alert on.
 */
async function ifDeployed(
  o: Pick<PlatformJobOptions, 'engine'>,
  at: { platform: string; project: string; instance: Tier },
  body: () => Promise<string>,
): Promise<string> {
  const seen = await o.engine.observe(at);
  return seen.units.length ? body() : 'not deployed: nothing to do';
}

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

/**
 * One weekly restore drill per project with a prod or an integration instance
 * (prod when it has one), in the drill window. A failed drill throws: the run
 * fails, and RestoreDrillFailed (monitoring/alerts.yml) fires on it.
 */
export function restoreDrills(
  pd: PlatformDir,
  o: Pick<PlatformJobOptions, 'engine' | 'dir'>,
): ScheduledJob[] {
  const w = pd.platform.schedule.drills;
  const cadence = {
    kind: 'weekly' as const,
    day: Math.max(0, WEEKDAYS.indexOf(w.day)),
    window: { startMinute: parseTimeOfDay(w.at) ?? 120, minutes: w.hours * 60 },
  };
  const drilled = [...pd.projects].filter(([, p]) => p.spec.instances.prod ?? p.spec.instances.integration);
  return drilled
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, project]): ScheduledJob => {
      const instance = drillTier(project.spec.instances, name);
      return {
        key: `restore-drill:${name}`,
        what: `restore ${name}/${instance}'s newest backup into a scratch database and check it (odp drill)`,
        cadence,
        run: () =>
          ifDeployed(o, { platform: pd.platform.name, project: name, instance }, () =>
            drill(o, name, instance),
          ),
      };
    });
}

/** A restore drill (`odp drill`); a failed one throws, which fails the run. */
async function drill(o: JobEnv, project: string, instance: Tier): Promise<string> {
  const { restoreDrill } = await import('../ops/backup/drill.js');
  const { failureMessage } = await import('../ops/backup/drill-model.js');
  const r = await restoreDrill(o.engine, { dir: o.dir, project, instance, progress: silentProgress });
  if (r.outcome === 'failed') throw new Error(failureMessage(r));
  return `passed: ${instance} backup ${r.backup}, data ${Math.round((r.dataAgeSeconds ?? 0) / 60)} min old, ${r.seconds} s`;
}
