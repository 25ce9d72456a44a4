// The scheduled work `odp serve` runs besides its webhooks. Each job goes
// through the same operation as its command: certificate renewal is `odp certs
// renew` (platform lock exclusive, recorded in the history as `certificates`),
// branch expiry is `odp branches expire`. A renewal that finds the platform busy
// (a deploy, `platform up`) does not wait: it says so and the next tick tries again.
import type { Engine } from '../engines/engine.js';
import { isOdpError } from '../errors.js';
import type { EdgeControl } from '../ops/edge/edge-sync.js';
import { loadPlatformDir } from '../platformdir/load.js';
import { silentProgress } from '../progress.js';
import type { Job } from './scheduler.js';

export function certificateRenewal(o: {
  engine: Engine;
  dir: string;
  edge: EdgeControl;
  everyMs: number;
}): Job {
  return {
    name: 'certificate-renewal',
    everyMs: o.everyMs,
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

export function branchExpiry(o: { engine: Engine; dir: string; edge: EdgeControl }): Job {
  return {
    // Branch instances idle longer than branches.expireAfterHours go.
    name: 'branch-expiry',
    everyMs: 3_600_000,
    run: async () => {
      const { expireBranches } = await import('../ops/instance/branches.js');
      const r = await expireBranches(o.engine, o.dir, { edge: o.edge });
      return `${r.expired.length} expired, ${r.kept.length} kept`;
    },
  };
}
