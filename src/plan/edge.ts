// The edge's changes as plan steps, in the order the edge makes them (decision
// 0061). A change of routes is three steps: the configuration rendered from the
// state at that moment (routes, maintenance, certificates held) and written into
// the edge as a staged release; the edge's own `haproxy -c` on it; then live with
// a hitless reload. A configuration HAProxy refuses stops the plan there, with
// the edge serving its last good one. Certificates are one ACME pass over the
// domains that need one (`certificateNeed` decides which, here, for the dry run
// and the pass alike), then served: written, checked and reloaded again when any
// was issued or renewed. Pure.
import type { PlanStep } from './step.js';

type StepBase = Omit<PlanStep, 'kind'>;

export interface CertificateRequest {
  domain: string;
  /** Why one is asked for: none yet, expiring, another ACME server, forced. */
  reason: string;
}

export type EdgeStep = StepBase &
  (
    | { kind: 'write-edge-config' }
    | { kind: 'check-edge-config' }
    | { kind: 'reload-edge' }
    | { kind: 'wait-routed'; domain: string }
    | { kind: 'request-certificates'; domains: CertificateRequest[] }
    | { kind: 'serve-certificates'; domains: string[] }
  );

export type EdgeStepKind = EdgeStep['kind'];

const edgeKinds: ReadonlySet<string> = new Set<EdgeStepKind>([
  'write-edge-config',
  'check-edge-config',
  'reload-edge',
  'wait-routed',
  'request-certificates',
  'serve-certificates',
]);

export function isEdgeStep(s: PlanStep): s is EdgeStep {
  return edgeKinds.has(s.kind);
}

/**
 * Write, check and reload, each after the one before; the first after `after`.
 * `subject` tells two of them apart in one plan.
 */
export function edgeReload(cause: string, after: string[], subject = 'routes'): EdgeStep[] {
  const write = `write-edge-config:${subject}`;
  const check = `check-edge-config:${subject}`;
  return [
    { id: write, kind: 'write-edge-config', cause, after },
    {
      id: check,
      kind: 'check-edge-config',
      cause: "the edge's haproxy checks it before it goes live",
      after: [write],
    },
    {
      id: `reload-edge:${subject}`,
      kind: 'reload-edge',
      cause: 'live without dropping a connection',
      after: [check],
    },
  ];
}

/** The certificates asked for, then served; nothing when none is needed. */
export function certificateSteps(
  requests: CertificateRequest[],
  after: string[],
  subject: string,
): EdgeStep[] {
  if (requests.length === 0) return [];
  const request = `request-certificates:${subject}`;
  return [
    {
      id: request,
      kind: 'request-certificates',
      domains: requests,
      cause: 'a certificate as soon as a domain is declared, renewed before it expires',
      after,
    },
    {
      id: `serve-certificates:${subject}`,
      kind: 'serve-certificates',
      domains: requests.map((r) => r.domain),
      cause: 'when one was issued or renewed: written, checked and reloaded with it',
      after: [request],
    },
  ];
}

/**
 * A new or changed instance through the edge: routed, then its domain answers
 * through it, then its certificate if it needs one.
 */
export function routeThroughEdge(
  domain: string,
  certificate: CertificateRequest | undefined,
  after: string[],
): EdgeStep[] {
  const reload = edgeReload(`the edge routes ${domain} to its units`, after);
  const wait: EdgeStep = {
    id: `wait-routed:${domain}`,
    kind: 'wait-routed',
    domain,
    cause: "the edge's own health checks see the instance",
    after: [reload[reload.length - 1]!.id],
  };
  return [...reload, wait, ...certificateSteps(certificate ? [certificate] : [], [wait.id], domain)];
}

const DAY = 86_400_000;

/**
 * How long before its expiry a certificate is renewed: `renewBeforeDays` when the
 * spec sets it, else a third of the certificate's own lifetime (renewed at two
 * thirds of it, as Let's Encrypt advises: 30 days of a 90-day certificate, 15 of
 * the 45-day ones it issues from 2028), else 30 days for a record without its start.
 */
export function renewalWindowMs(
  held: { notBefore?: Date; notAfter: Date },
  acme: { renewBeforeDays?: number | undefined },
): number {
  if (acme.renewBeforeDays !== undefined) return acme.renewBeforeDays * DAY;
  const lifetime = held.notBefore ? held.notAfter.getTime() - held.notBefore.getTime() : 0;
  return lifetime > 0 ? lifetime / 3 : 30 * DAY;
}

/**
 * Why a domain needs a certificate now; undefined when the one held is kept
 * (same ACME server, outside its renewal window, not forced).
 */
export function certificateNeed(
  held: { notBefore?: Date; notAfter: Date; directory: string } | undefined,
  acme: { directory: string; renewBeforeDays?: number | undefined },
  now: Date,
  force = false,
): string | undefined {
  if (!held) return 'no certificate yet';
  const left = held.notAfter.getTime() - now.getTime();
  if (held.directory !== acme.directory)
    return `the certificate held comes from another ACME server (${held.directory})`;
  if (left <= 0) return 'the certificate held has expired';
  if (force) return 'renewal forced';
  if (left > renewalWindowMs(held, acme)) return undefined;
  return `the certificate held expires in ${Math.floor(left / DAY)} day(s)`;
}

/** The step's subject, as a person reads it. */
export function edgeStepSubject(s: EdgeStep): string {
  switch (s.kind) {
    case 'wait-routed':
      return s.domain;
    case 'request-certificates':
      return s.domains.map((d) => `${d.domain} (${d.reason})`).join(', ');
    case 'serve-certificates':
      return s.domains.join(', ');
    default:
      return s.id.slice(s.kind.length + 1);
  }
}
