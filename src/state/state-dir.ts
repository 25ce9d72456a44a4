// Where odp keeps what it knows about a platform on this host: the state
// database, locks, the webhook queue. ODP_STATE_DIR moves it (tests, packaging).
import { join } from 'node:path';

export function stateDir(platformDir: string): string {
  return process.env.ODP_STATE_DIR ?? join(platformDir, '.odp-state');
}
