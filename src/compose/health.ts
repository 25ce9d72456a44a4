// Health checks that cost little at rest (docs/decisions/0050). Docker runs every
// check as a new process in the container (an exec through runc): at 1 s, the four
// containers of one idle test instance kept half a core busy. The steady interval
// is therefore tens of seconds, as in the ecosystem; what made deploys quick — a
// check every second while a unit starts — is now odp's own readiness probe,
// run only while a deploy waits (Engine.waitReady), and the engine's
// `start_interval` where it has one (Docker ≥ 25). Routing does not wait for these
// checks either: the edge checks its servers over HTTP itself (0051).
import type { HealthCheck } from '../model/stack.js';

/** Between two checks of a running unit. */
export const STEADY_INTERVAL_SECONDS = 30;
/** Between two checks during the start period, where the engine supports it. */
export const START_INTERVAL_SECONDS = 1;

type Timing = Omit<HealthCheck, 'http' | 'command'>;

/**
 * A data service (PostgreSQL, Redis, S3) or a sidecar. `retries` 3 at 30 s: a
 * unit is unhealthy after about 90 s of failed checks, not 30 s as before (30 × 1 s).
 * The start period covers a first start on a busy machine (PostgreSQL's initdb);
 * a failure within it does not count, a success ends it at once.
 */
export function steadyHealth(startPeriodSeconds: number): Timing {
  return {
    intervalSeconds: STEADY_INTERVAL_SECONDS,
    timeoutSeconds: 5,
    retries: 3,
    startPeriodSeconds,
    startIntervalSeconds: START_INTERVAL_SECONDS,
  };
}
