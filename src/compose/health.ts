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
export const STEADY_INTERVAL_SECONDS = 60;
/** Between two checks during the start period, where the engine supports it. */
export const START_INTERVAL_SECONDS = 1;

type Timing = Omit<HealthCheck, 'http' | 'command'>;

/**
 * A data service (PostgreSQL, Redis, S3) or a sidecar. `retries` 2 at 60 s: a
 * unit is unhealthy after about 2 min of failed checks (30 s before 0050, 30 × 1 s);
 * the edge takes a failed replica out of its rotation in seconds by its own
 * checks (0051). Each check is an exec costing about 0.1 CPU-second (runc, the
 * shim, the daemons: measured by bench/idle-density), which is why not 30 s. The
 * timeout is generous for busy hosts: it costs nothing while the probe answers.
 * The start period covers a first start on a busy machine (PostgreSQL's initdb);
 * a failure within it does not count, a success ends it at once.
 */
export function steadyHealth(startPeriodSeconds: number): Timing {
  return {
    intervalSeconds: STEADY_INTERVAL_SECONDS,
    timeoutSeconds: 10,
    retries: 2,
    startPeriodSeconds,
    startIntervalSeconds: START_INTERVAL_SECONDS,
  };
}
