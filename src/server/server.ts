// `odp serve`: the platform's long-running process. It receives webhooks
// (src/server/hooks.ts), runs the job queue they fill (src/server/worker.ts)
// and the scheduled work it is given (scheduled.ts), and exposes /healthz and a
// small read API. Logs are JSON lines on stdout.
import { createServer, type Server } from 'node:http';
import { OdpError } from '../errors.js';
import type { EdgeControl } from '../ops/edge/edge-sync.js';
import { loadPlatformDir } from '../platformdir/load.js';
import type { Secret } from '../secret.js';
import { openState } from '../state/db.js';
import { queueCounts } from '../state/jobs.js';
import { router } from './hooks.js';
import { scheduleMetrics } from './metrics.js';
import { ScheduleRunner, type ScheduledJob } from '../schedule/runner.js';
import { Worker, type JobRunners, type Log } from './worker.js';

export interface ServeOptions {
  dir: string;
  host: string;
  port: number;
  edge: EdgeControl;
  /** Signs the webhooks; without one they answer 503. */
  webhookSecret?: Secret;
  /** What runs each job kind (`deploy-test`, `deploy-branch`, `remove-branch`). */
  runners?: JobRunners;
  /** Pushes to this branch redeploy test (default master). */
  mainBranch?: string;
  /** A job whose image is not published yet is tried again this often (default 15 s). */
  retryEveryMs?: number;
  /** …until this long after its webhook (default 60 min). */
  imageWaitMs?: number;
  /** Jobs of different instances running at once (default 2). */
  parallel?: number;
  /** Largest webhook body accepted (default 1 MiB). */
  bodyLimit?: number;
  /** A request must arrive whole within this time, or it gets 408 and is closed (default 30 s). */
  requestTimeoutMs?: number;
  /** Where the JSON log lines go (default: stdout). */
  log?: Log;
  /** Scheduled work (scheduled.ts: backups, certificate renewal, branch expiry), asked for at each tick. */
  scheduled?: () => Promise<ScheduledJob[]>;
  /** How often the schedule looks for due jobs (default 30 s). */
  scheduleTickMs?: number;
}

export interface Serving {
  server: Server;
  scheduler: ScheduleRunner;
  worker: Worker;
  url: string;
  /** Stops listening and scheduling; resolves once the running jobs have ended. */
  close(): Promise<void>;
}

export function log(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), ...line })}\n`);
}

export async function serve(o: ServeOptions): Promise<Serving> {
  await loadPlatformDir(o.dir); // a broken spec stops the server before it listens
  const say = o.log ?? log;
  const db = openState(o.dir);
  const scheduler = new ScheduleRunner({ db, jobs: o.scheduled ?? (async () => []), log: say });
  const worker = new Worker({
    db,
    runners: o.runners ?? {},
    log: say,
    pollMs: Math.min(1000, o.retryEveryMs ?? 1000),
    retryEveryMs: o.retryEveryMs ?? 15_000,
    parallel: o.parallel ?? 2,
  });
  const requestTimeout = o.requestTimeoutMs ?? 30_000;
  const bodyLimit = o.bodyLimit ?? 1024 * 1024;
  // A client that sends its headers or body slowly does not hold a socket for
  // long; the timeouts are checked every second, not Node's default 30 s.
  const server = createServer({
    requestTimeout,
    headersTimeout: Math.min(10_000, requestTimeout),
    connectionsCheckingInterval: Math.min(1000, requestTimeout),
  });
  const handle = router({
    dir: o.dir,
    db,
    secret: o.webhookSecret,
    mainBranch: o.mainBranch ?? 'master',
    imageWaitMs: o.imageWaitMs ?? 60 * 60_000,
    bodyLimit,
    log: say,
    wake: () => worker.wake(),
    health: async () => ({
      jobs: await scheduler.status(),
      queue: { ...queueCounts(db), runningHere: worker.busy() },
      webhooks: o.webhookSecret ? 'enabled' : 'disabled: no webhook secret',
    }),
  });
  // Prometheus' text format, not the router's JSON: answered before it.
  const metrics = scheduleMetrics(scheduler);
  server.on('request', (req, res) => {
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') metrics.serve(res);
    else handle(req, res);
  });
  // `Expect: 100-continue` (curl sends it for large bodies): a body declared
  // over the limit is refused before the client sends it.
  server.on('checkContinue', (req, res) => {
    if (Number(req.headers['content-length'] ?? 0) > bodyLimit) {
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: `the body is over ${bodyLimit} bytes` }));
      return;
    }
    res.writeContinue();
    handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, resolve);
  }).catch((e: unknown) => {
    db.close();
    throw new OdpError('USAGE', `cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`, {
      hint: 'Choose another --port (0 takes any free one), or stop what listens there.',
    });
  });
  scheduler.start(o.scheduleTickMs);
  worker.start();
  const addr = server.address() as { port: number };
  const close = async () => {
    const closed = new Promise((r) => server.close(r));
    server.closeIdleConnections();
    await Promise.all([closed, worker.stop(), scheduler.stop()]);
    db.close();
  };
  return { server, scheduler, worker, url: `http://${o.host}:${addr.port}`, close };
}
