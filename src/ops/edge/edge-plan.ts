// Runs the edge's plan steps (plan/edge.ts) through EdgeControl, and reads what
// the planner needs: which domains need a certificate. Each operation that
// changes the edge (platform up, certificates, a deploy routing its domain, a
// branch removal) plans these steps, prints them with --dry-run and runs them here.
import { OdpError } from '../../errors.js';
import {
  certificateNeed,
  edgeStepSubject,
  routeThroughEdge,
  type CertificateRequest,
  type EdgeStep,
} from '../../plan/edge.js';
import type { PlatformDir } from '../../platformdir/load.js';
import type { Progress } from '../../progress.js';
import { CertStore } from '../../state/certs.js';
import type { CertProgress, CertResult } from './certs.js';
import { runSteps } from '../run-steps.js';
import { isNew, type EdgeControl } from './edge-sync.js';

/** The domains of `domains` that need a certificate, and why; the others keep theirs. */
export function certificateRequests(
  pd: PlatformDir,
  domains: readonly string[],
  o: { force?: boolean; now?: Date } = {},
): { requests: CertificateRequest[]; kept: CertResult[] } {
  const store = CertStore.open(pd.dir);
  try {
    const requests: CertificateRequest[] = [];
    const kept: CertResult[] = [];
    for (const domain of new Set(domains.map((d) => d.trim().toLowerCase()).filter(Boolean))) {
      const held = store.get(domain);
      const reason = certificateNeed(held, pd.platform.acme, o.now ?? new Date(), o.force);
      if (reason) requests.push({ domain, reason });
      else if (held) kept.push({ domain, action: 'kept', notAfter: held.notAfter });
    }
    return { requests, kept };
  } finally {
    store.close();
  }
}

/**
 * The edge's steps for an instance that changed (its domain routed, answered,
 * certified), after `after`; none when no edge runs. A project file that does not
 * load keeps the edge as it is (syncing would drop that project's routes): said, not failed.
 */
export async function planEdgeRoute(
  pd: PlatformDir,
  domain: string,
  o: { edge?: EdgeControl; progress: Progress },
  after: string[],
): Promise<EdgeStep[]> {
  if (!o.edge || !(await o.edge.running(pd))) return [];
  if (pd.broken.size > 0) {
    o.progress.note(
      `warning: the edge is not updated: ${[...pd.broken.keys()].join(', ')} do not load (odp check)`,
    );
    return [];
  }
  return routeThroughEdge(domain, certificateRequests(pd, [domain]).requests[0], after);
}

export function describeEdgeStep(s: EdgeStep): string {
  return `${s.kind} ${edgeStepSubject(s)}`;
}

/**
 * Runs edge steps with the shared executor; the first failure names its step.
 * Steps they wait for that are not among them ran before (a deploy's stack).
 */
export function runEdgePlan(steps: readonly EdgeStep[], r: EdgeRun): Promise<void> {
  const ids = new Set(steps.map((s) => s.id));
  const own = steps.map((s) => ({ ...s, after: s.after.filter((a) => ids.has(a)) }));
  return runSteps(own, (s) => executeEdgeStep(r, s), {
    progress: r.progress,
    describe: describeEdgeStep,
    code: 'ENGINE',
  });
}

/** What the edge's steps share while they run. */
export interface EdgeRun {
  pd: PlatformDir;
  edge: EdgeControl;
  progress: Progress;
  /** How long `wait-routed` waits for the edge's own health checks. */
  timeoutMs: number;
  force?: boolean;
  onCertificate?: (e: CertProgress) => void;
  /** The release `write-edge-config` staged, for the check and the reload. */
  staged?: string;
  /** What the certificate pass did, domain by domain. */
  certificates: CertResult[];
}

export async function executeEdgeStep(r: EdgeRun, s: EdgeStep): Promise<void> {
  switch (s.kind) {
    case 'write-edge-config':
      r.staged = await r.edge.write(r.pd);
      return;
    case 'check-edge-config':
      await r.edge.check(r.pd, staged(r));
      return;
    case 'reload-edge': {
      const applied = await r.edge.reload(r.pd, staged(r));
      r.staged = undefined;
      for (const w of applied.warnings) r.progress.note(`warning: ${w}`);
      return;
    }
    case 'wait-routed':
      // Up but not routed yet is not a failed deploy: the edge keeps checking.
      if (!(await r.edge.waitRouted(r.pd, s.domain, r.timeoutMs)))
        r.progress.note(
          `warning: ${s.domain} is up but the edge does not route it yet; see odp platform status`,
        );
      return;
    case 'request-certificates': {
      const results = await r.edge.requestCertificates(r.pd, {
        domains: s.domains.map((d) => d.domain),
        ...(r.force ? { force: true } : {}),
        ...(r.onCertificate ? { onEvent: r.onCertificate } : {}),
      });
      r.certificates.push(...results);
      // A failure keeps what is held and is reported; it does not undo the operation.
      for (const c of results.filter((x) => x.action === 'failed'))
        r.progress.note(`warning: no certificate for ${c.domain} yet: ${c.reason ?? ''}`);
      return;
    }
    case 'serve-certificates':
      if (r.certificates.some((c) => isNew(c) && s.domains.includes(c.domain))) await r.edge.sync(r.pd);
      return;
  }
}

function staged(r: EdgeRun): string {
  if (!r.staged) throw new OdpError('INTERNAL', 'no edge release was written before this step');
  return r.staged;
}
