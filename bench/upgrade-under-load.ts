// Benchmark: upgrading prod under load, odp against the original document's
// stop-and-recreate upgrade (`rancher-compose up --pull --recreate`: every
// container stopped, new ones started, each racing to migrate at its start).
//
// One platform of its own (embedded S3, the HAProxy edge on loopback), prod with
// two replicas. `--concurrency N` (default 64) keep-alive HTTPS connections go
// through the edge the whole time, shared by 6 logged-in users: each request
// checks a session (`/web/session/get_session_info`), the version or the login
// page. Four upgrades, in this order, in one run:
//
//   odp                1.0.0 → 1.0.1   no migration
//   odp                1.0.1 → 1.1.0   migration
//   stop-and-recreate  1.1.0 → 1.1.1   no migration
//   stop-and-recreate  1.1.1 → 1.2.0   migration
//
// Printed per upgrade: requests, failures (anything but 2xx/3xx, a lost
// session, or a 503 that is not a maintenance answer with Retry-After during a
// migration) by HTTP status or connection error code, maintenance answers, the
// window clients saw them in, and the migration's own duration
// (marabunta_version's date_start → date_done). For odp's migration upgrade, the
// window is broken down by the plan's own steps (from its history) and its
// overhead printed: window − (migration's own work + new replicas' start to
// healthy). The edge's log lines of failed requests are printed with their
// termination state.
//
// With `--engine swarm`: the same on a three-node swarm (app1, app2, db1: prod's
// replicas on app1 and app2, the edge on app1, its HTTPS port on 127.0.0.1), set
// up as test/e2e/swarm-platform.test.ts does it; odp's two upgrades against
// Swarm's own rolling update (`docker service update --image`, the default
// update config) instead of stop-and-recreate.
//
//   npm run bench:upgrade-under-load -- --concurrency 64
//   npm run bench:upgrade-under-load -- --engine swarm --concurrency 16
import { parseArgs } from 'node:util';
import { onDocker } from './upgrade-load/docker.js';
import { onSwarm } from './upgrade-load/swarm.js';

const { values: args } = parseArgs({
  options: { concurrency: { type: 'string', default: '64' }, engine: { type: 'string', default: 'docker' } },
});
const CONCURRENCY = Number(args.concurrency);
/** What the migration versions do: a write, then work that takes a while. */
const MIGRATION_SECONDS = 5;

async function main(): Promise<void> {
  if (args.engine === 'docker') await onDocker(CONCURRENCY, MIGRATION_SECONDS);
  else if (args.engine === 'swarm') await onSwarm(CONCURRENCY, MIGRATION_SECONDS);
  else throw new Error(`--engine: docker or swarm, not ${args.engine}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
