// What upgrade-under-load.ts measures on either engine: the load through the
// edge, each upgrade's tally, the migration's own duration, the edge's log of
// failed requests, odp's maintenance window from the plan's history.
import type { Agent as HttpsAgent } from 'node:https';
import { Agent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Secret } from '../../src/secret.js';
import type { EdgeReply } from '../../test/helpers/edge.js';
import type { CliResult } from '../../test/e2e/helpers.js';
import { SETUP, withVersion } from '../../test/e2e/upgrade-fixture.js';

export const USERS = 6;
/** Each upgrade is measured over at least this many requests (the load goes on after it, up to 60 s). */
const MIN_REQUESTS = 20_000;
/** Bounds: the load stops at this many requests per upgrade, whatever happens. */
const MAX_REQUESTS = 400_000;

/** A platform under load: prod behind the edge on 127.0.0.1, on one engine or a swarm. */
export interface Target {
  project: string;
  adminPassword: Secret;
  /** A request through the edge with prod's SNI and Host (status 0 when it failed). */
  viaEdge(
    pathname: string,
    o?: { method?: string; body?: string; headers?: Record<string, string>; agent?: HttpsAgent },
  ): Promise<EdgeReply>;
  odp(args: string[]): Promise<CliResult>;
  /** marabunta_version's date_start → date_done of `version`, in seconds. */
  migrationSeconds(version: string): Promise<number | undefined>;
  /** The edge's log since `since` (ms), timestamped, as the engine gives it. */
  edgeLog(since: number): Promise<string>;
  /** odp's progress lines of the last deploy, stamped: printed beside failures. */
  steps: string[];
}

export interface Tally {
  requests: number;
  failures: string[];
  /** Failures by HTTP status or connection error code (ECONNRESET…). */
  byCode: Map<string, number>;
  maintenance: number;
  firstMaintenance?: number;
  lastMaintenance?: number;
}

/**
 * `concurrency` workers through the edge until stopped, each on its own kept-alive
 * connection (one agent, one socket per worker), sharing the logged-in users'
 * sessions; each session is checked every time it is used.
 */
function load(f: Target, concurrency: number, sessions: string[], migrating: boolean) {
  const t: Tally = { requests: 0, failures: [], byCode: new Map(), maintenance: 0 };
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let stop = false;
  const paths = ['/web/session/get_session_info', '/web/version', '/web/login'];
  const one = async (worker: number): Promise<void> => {
    const sid = sessions[worker % sessions.length]!;
    for (let i = worker; !stop && t.requests < MAX_REQUESTS; i++) {
      const path = paths[i % paths.length]!;
      const r = await f.viaEdge(path, { headers: { cookie: `session_id=${sid}` }, agent });
      t.requests++;
      const at = Date.now();
      if (r.status >= 200 && r.status < 400) continue;
      if (migrating && r.status === 503 && r.headers['retry-after']) {
        t.maintenance++;
        t.firstMaintenance ??= at;
        t.lastMaintenance = at;
        continue;
      }
      const code = r.status ? String(r.status) : (r.code ?? 'error');
      t.byCode.set(code, (t.byCode.get(code) ?? 0) + 1);
      t.failures.push(`${new Date(at).toISOString()} ${path} ${code} ${r.body.slice(0, 50)}`);
    }
  };
  const running = Promise.all(Array.from({ length: concurrency }, (_, w) => one(w)));
  return {
    tally: t,
    async end(): Promise<Tally> {
      stop = true;
      await running;
      agent.destroy();
      return t;
    },
  };
}

export async function login(f: Target): Promise<string> {
  const r = await f.viaEdge('/web/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `login=admin&password=${encodeURIComponent(f.adminPassword.reveal())}`,
  });
  const sid = /session_id=([a-f0-9]+)/.exec(String(r.headers['set-cookie']))?.[1];
  if (r.status !== 200 || !sid) throw new Error(`login failed: ${r.status} ${r.body.slice(0, 80)}`);
  return sid;
}

/** The edge's log since `since`: failed answers (JSON, with the termination state) and server state changes. */
async function edgeErrors(f: Target, since: number, failures: string[]): Promise<string[]> {
  // Connection errors leave no failed answer to match: every edge line near one is shown.
  const near = failures
    .filter((x) => / E[A-Z]+ /.test(x))
    .map((x) => Date.parse(x.split(' ')[0]!))
    .slice(0, 5);
  const raw = await f.edgeLog(since);
  return (
    raw
      .split('\n')
      // Answers ≥ 500, streams that ended abnormally (termination state other than
      // `--`: a reset, a server or client abort) and HAProxy's own notices: servers
      // going DOWN or UP (with the health check's reason), addresses changed through DNS.
      .filter(
        (l) =>
          /"status":(5\d\d|-1)|"termination":"[^-]|Server .* is (DOWN|UP)|changed its IP|is going DOWN/.test(
            l,
          ) || near.some((t) => Math.abs(Date.parse(l.slice(l.indexOf('20'), l.indexOf('Z') + 1)) - t) < 300),
      )
      // Docker's timestamp, then the line without the stream header's bytes.
      .map(
        (l) =>
          `${/\d{2}:\d{2}:\d{2}\.\d{3}/.exec(l)?.[0] ?? ''} ${l.replace(/^[^{]*?(\{|\[WARNING\]|Server|site_)/, '$1')}`,
      )
      // Notices first: they say why the answers failed.
      .sort((a, b) => Number(a.startsWith('{')) - Number(b.startsWith('{')))
  );
}

export interface Row {
  name: string;
  seconds: number;
  t: Tally;
  migration?: number;
  edgeLog: string[];
  steps: string[];
  /** odp's maintenance window, step by step from its history, and its overhead. */
  window?: { lines: string[]; seconds: number; overhead: number };
}

interface HistoryStep {
  kind: string | null;
  id: string | null;
  startedAt: string;
  seconds: number | null;
}

/** The last operation's maintenance window from the steps its history recorded. */
async function odpWindow(f: Target, migration: number): Promise<Row['window']> {
  const h = await f.odp(['history', f.project, 'prod', '--json']);
  const op = (JSON.parse(h.stdout) as { operations: { steps: HistoryStep[] }[] }).operations[0];
  const steps = (op?.steps ?? []).filter((x) => x.kind && !x.id?.includes('/'));
  const from = (x: HistoryStep) => Date.parse(x.startedAt);
  const to = (x: HistoryStep) => from(x) + (x.seconds ?? 0) * 1000;
  const enter = steps.find((x) => x.kind === 'enter-maintenance');
  const leave = steps.find((x) => x.kind === 'leave-maintenance');
  if (!enter || !leave) return undefined;
  const seconds = (to(leave) - from(enter)) / 1000;
  const started = steps.filter((x) => x.kind === 'start-unit').map(from);
  const healthy = steps.filter((x) => x.kind === 'wait-healthy').map(to);
  const newUnits = (Math.max(...healthy) - Math.min(...started)) / 1000;
  const lines = steps
    .filter((x) => from(x) >= from(enter) && to(x) <= to(leave))
    .map(
      (x) =>
        `+${((from(x) - from(enter)) / 1000).toFixed(2).padStart(6)} s  ${(x.seconds ?? 0).toFixed(2).padStart(6)} s  ${x.kind!.padEnd(18)} ${x.id}`,
    );
  lines.push(
    `window ${seconds.toFixed(2)} s = migration's own work ${migration.toFixed(2)} s + new units start to healthy ${newUnits.toFixed(2)} s + overhead ${(seconds - migration - newUnits).toFixed(2)} s`,
  );
  return { lines, seconds, overhead: seconds - migration - newUnits };
}

/** One upgrade under `concurrency` connections: from the load's start to its end after the upgrade. */
export async function measure(
  f: Target,
  concurrency: number,
  name: string,
  sessions: string[],
  migrating: string | undefined,
  upgrade: () => Promise<void>,
): Promise<Row> {
  const start = Date.now();
  const l = load(f, concurrency, sessions, migrating !== undefined);
  try {
    await upgrade();
    await sleep(2000); // users keep going a little after the upgrade returns
    // At least MIN_REQUESTS per upgrade, to count failures over a meaningful number (bounded in time).
    for (const end = Date.now() + 60_000; l.tally.requests < MIN_REQUESTS && Date.now() < end;)
      await sleep(100);
  } finally {
    await l.end();
  }
  const seconds = (Date.now() - start) / 1000;
  const migration = migrating ? await f.migrationSeconds(migrating) : undefined;
  const edgeLog = l.tally.failures.length ? await edgeErrors(f, start, l.tally.failures) : [];
  const odpSteps = f.steps;
  f.steps = [];
  const window =
    migration !== undefined && name.startsWith('odp') ? await odpWindow(f, migration) : undefined;
  return {
    ...(window ? { window } : {}),
    name,
    seconds,
    t: l.tally,
    ...(migration !== undefined ? { migration } : {}),
    edgeLog,
    steps: odpSteps,
  };
}

export async function odpDeploy(f: Target, version: string): Promise<void> {
  const r = await f.odp(['deploy', f.project, 'prod', '--version', version]);
  f.steps = r.stderrLines.map((l) => `${new Date(l.at).toISOString().slice(11, 23)} ${l.text}`);
  if (r.code !== 0) throw new Error(`odp deploy ${version} failed:\n${r.stderr}`);
}

/**
 * The five versions both engines' benches build, each with its migration.yml:
 * 1.1.0 and 1.2.0 write a mark and then work `migrationSeconds`.
 */
export function benchVersions(migrationSeconds: number): [version: string, migration: string][] {
  const work = `sleep ${migrationSeconds}`;
  const v110 = withVersion(
    SETUP,
    '1.1.0',
    `ref-sql "CREATE TABLE IF NOT EXISTS marks (v text); INSERT INTO marks VALUES ('1.1.0')"`,
    work,
  );
  return [
    ['1.0.0', SETUP],
    ['1.0.1', SETUP],
    ['1.1.0', v110],
    ['1.1.1', v110],
    ['1.2.0', withVersion(v110, '1.2.0', `ref-sql "INSERT INTO marks VALUES ('1.2.0')"`, work)],
  ];
}
