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
//   npm run bench:upgrade-under-load -- --concurrency 64
import { Agent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { sharedUnit } from '../src/compose/platform.js';
import { unitName } from '../src/model/stack.js';
import { silentProgress } from '../src/progress.js';
import { planUpgrade } from '../src/ops/release/upgrade-plan.js';
import { readinessProbe } from '../src/plan/plan.js';
import { edgeControl, waitRouted } from '../src/ops/edge/edge-sync.js';
import { setServing } from '../src/state/serving.js';
import { loadPlatformDir } from '../src/platformdir/load.js';
import { cleanUp, docker, engine, setUp } from '../test/e2e/helpers.js';
import { SETUP, upgradeFixture, withVersion, type UpgradeFixture } from '../test/e2e/upgrade-fixture.js';

const USERS = 6;
const { values: args } = parseArgs({ options: { concurrency: { type: 'string', default: '64' } } });
const CONCURRENCY = Number(args.concurrency);
/** Each upgrade is measured over at least this many requests (the load goes on after it, up to 60 s). */
const MIN_REQUESTS = 20_000;
/** Bounds: the load stops at this many requests per upgrade, whatever happens. */
const MAX_REQUESTS = 400_000;
/** What the migration versions do: a write, then work that takes a while. */
const MIGRATION_SECONDS = 5;

interface Tally {
  requests: number;
  failures: string[];
  /** Failures by HTTP status or connection error code (ECONNRESET…). */
  byCode: Map<string, number>;
  maintenance: number;
  firstMaintenance?: number;
  lastMaintenance?: number;
}

/**
 * CONCURRENCY workers through the edge until stopped, each on its own kept-alive
 * connection (one agent, one socket per worker), sharing the logged-in users'
 * sessions; each session is checked every time it is used.
 */
function load(f: UpgradeFixture, sessions: string[], migrating: boolean) {
  const t: Tally = { requests: 0, failures: [], byCode: new Map(), maintenance: 0 };
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
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
  const running = Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => one(w)));
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

async function login(f: UpgradeFixture): Promise<string> {
  const r = await f.viaEdge('/web/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `login=admin&password=${encodeURIComponent(f.adminPassword.reveal())}`,
  });
  const sid = /session_id=([a-f0-9]+)/.exec(String(r.headers['set-cookie']))?.[1];
  if (r.status !== 200 || !sid) throw new Error(`login failed: ${r.status} ${r.body.slice(0, 80)}`);
  return sid;
}

/** The original document's upgrade: all replicas removed, new ones started, each migrating at its start. */
async function stopAndRecreate(f: UpgradeFixture, version: string): Promise<void> {
  const ctx = await planUpgrade(engine, f.tp.dir, f.tp.project, 'prod', {
    version,
    progress: silentProgress,
  });
  const observed = await engine.observe({ platform: f.tp.platform, project: f.tp.project, instance: 'prod' });
  for (const u of observed.units.filter((x) => x.service === 'odoo' || x.service === 'nginx'))
    await engine.remove(u.name, 10);
  const migrating = [...ctx.runtime.units.values()].map((u) =>
    u.service.role === 'odoo'
      ? { ...u, service: { ...u.service, env: new Map([...u.service.env].filter(([k]) => k !== 'MIGRATE')) } }
      : u,
  );
  const odoo = migrating.filter((u) => u.service.role === 'odoo');
  await Promise.all(odoo.map((u) => engine.run(u)));
  await Promise.all(migrating.filter((u) => u.service.role !== 'odoo').map((u) => engine.run(u)));
  for (const u of odoo)
    await engine.waitReady(
      unitName(f.stack, 'odoo', u.replica, u.release),
      readinessProbe(u.service.health!),
      {
        timeoutMs: 600_000,
      },
    );
  // The edge routes to the recreated units (their names carry the release).
  const pd = await loadPlatformDir(f.tp.dir);
  setServing(
    f.tp.dir,
    f.tp.project,
    'prod',
    odoo.map((u) => unitName(f.stack, 'odoo', u.replica, u.release)),
  );
  await edgeControl(engine).sync(pd);
  if (!(await waitRouted(engine, pd, f.domain, 120_000)))
    throw new Error('the edge does not route prod after the recreate');
}

async function migrationSeconds(f: UpgradeFixture, version: string): Promise<number | undefined> {
  return f.asRole(async (c) => {
    const r = await c.query<{ s: number | null }>(
      'SELECT EXTRACT(EPOCH FROM date_done - date_start)::float AS s FROM marabunta_version WHERE number = $1',
      [version],
    );
    return r.rows[0]?.s ?? undefined;
  });
}

/** The edge's log since `since`: failed answers (JSON, with the termination state) and server state changes. */
async function edgeErrors(f: UpgradeFixture, since: number, failures: string[]): Promise<string[]> {
  // Connection errors leave no failed answer to match: every edge line near one is shown.
  const near = failures
    .filter((x) => / E[A-Z]+ /.test(x))
    .map((x) => Date.parse(x.split(' ')[0]!))
    .slice(0, 5);
  const c = docker.getContainer(sharedUnit({ name: f.tp.platform }, 'edge'));
  const raw = (await c.logs({
    stdout: true,
    stderr: true,
    timestamps: true,
    since: Math.floor(since / 1000),
  })) as Buffer;
  return (
    raw
      .toString('utf8')
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

interface Row {
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
async function odpWindow(f: UpgradeFixture, migration: number): Promise<Row['window']> {
  const h = await f.odp(['history', f.tp.project, 'prod', '--json']);
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

async function measure(
  f: UpgradeFixture,
  name: string,
  sessions: string[],
  migrating: string | undefined,
  upgrade: () => Promise<void>,
): Promise<Row> {
  const start = Date.now();
  const l = load(f, sessions, migrating !== undefined);
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
  const migration = migrating ? await migrationSeconds(f, migrating) : undefined;
  const edgeLog = l.tally.failures.length ? await edgeErrors(f, start, l.tally.failures) : [];
  const odpSteps = steps;
  steps = [];
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

/** odp's progress lines of the last deploy, stamped: printed beside failures. */
let steps: string[] = [];

async function odpDeploy(f: UpgradeFixture, version: string): Promise<void> {
  const r = await f.odp(['deploy', f.tp.project, 'prod', '--version', version]);
  steps = r.stderrLines.map((l) => `${new Date(l.at).toISOString().slice(11, 23)} ${l.text}`);
  if (r.code !== 0) throw new Error(`odp deploy ${version} failed:\n${r.stderr}`);
}

function print(rows: Row[]): void {
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(
    `\n${pad('upgrade', 46)}${pad('took', 8)}${pad('requests', 10)}${pad('failures', 10)}${pad('maint.', 8)}${pad('window', 9)}migration`,
  );
  for (const r of rows) {
    const window =
      r.t.firstMaintenance && r.t.lastMaintenance
        ? `${((r.t.lastMaintenance - r.t.firstMaintenance) / 1000).toFixed(1)} s`
        : '-';
    console.log(
      `${pad(r.name, 46)}${pad(`${r.seconds.toFixed(1)} s`, 8)}${pad(String(r.t.requests), 10)}${pad(String(r.t.failures.length), 10)}${pad(String(r.t.maintenance), 8)}${pad(window, 9)}${r.migration !== undefined ? `${r.migration.toFixed(1)} s` : '-'}`,
    );
  }
  for (const r of rows.filter((x) => x.t.failures.length)) {
    console.log(`\n${r.name}: failed requests (first 10) and the edge's log of them:`);
    for (const x of r.t.failures.slice(0, 10)) console.log(`  ${x}`);
    for (const x of r.edgeLog.slice(0, 30)) console.log(`  edge: ${x}`);
    for (const x of r.steps) console.log(`  odp: ${x}`);
  }
  for (const r of rows.filter((x) => x.t.byCode.size)) {
    console.log(`\n${r.name}: failures by code: ${[...r.t.byCode].map(([c, n]) => `${c} ${n}`).join(', ')}`);
  }
  // Where odp's maintenance window goes: the plan's steps in it, as its history timed them.
  for (const r of rows.filter((x) => x.window)) {
    console.log(`\n${r.name}: the maintenance window, step by step (start in the window, duration)`);
    for (const x of r.window!.lines) console.log(`  ${x}`);
  }
  const [odpA, odpB, peerA, peerB] = rows;
  if (odpA && peerA && odpB && peerB) {
    console.log(
      `\nfailures, odp vs stop-and-recreate: without migration ${odpA.t.failures.length} vs ${peerA.t.failures.length}, with migration ${odpB.t.failures.length} vs ${peerB.t.failures.length}`,
    );
  }
}

async function main(): Promise<void> {
  await setUp();
  const f = await upgradeFixture('benchupg');
  try {
    const work = `sleep ${MIGRATION_SECONDS}`;
    const v110 = withVersion(
      SETUP,
      '1.1.0',
      `ref-sql "CREATE TABLE IF NOT EXISTS marks (v text); INSERT INTO marks VALUES ('1.1.0')"`,
      work,
    );
    for (const [v, m] of [
      ['1.0.0', SETUP],
      ['1.0.1', SETUP],
      ['1.1.0', v110],
      ['1.1.1', v110],
      ['1.2.0', withVersion(v110, '1.2.0', `ref-sql "INSERT INTO marks VALUES ('1.2.0')"`, work)],
    ] as const)
      await f.buildImage(v, m);
    await odpDeploy(f, '1.0.0');
    const sessions = await Promise.all(Array.from({ length: USERS }, () => login(f)));
    console.log(
      `prod ${f.stack}: 2 replicas, ${USERS} logged-in users on ${CONCURRENCY} kept-alive connections through the edge`,
    );
    const rows: Row[] = [];
    // BENCH_ONLY=1 runs only the first upgrade (odp without migration), to study it alone.
    if (process.env.BENCH_ONLY === '1') {
      rows.push(
        await measure(f, 'odp            1.0.0 → 1.0.1 (no migration)', sessions, undefined, () =>
          odpDeploy(f, '1.0.1'),
        ),
      );
      print(rows);
      return;
    }
    rows.push(
      await measure(f, 'odp            1.0.0 → 1.0.1 (no migration)', sessions, undefined, () =>
        odpDeploy(f, '1.0.1'),
      ),
    );
    rows.push(
      await measure(f, 'odp            1.0.1 → 1.1.0 (migration)', sessions, '1.1.0', () =>
        odpDeploy(f, '1.1.0'),
      ),
    );
    rows.push(
      await measure(f, 'stop-recreate  1.1.0 → 1.1.1 (no migration)', sessions, undefined, () =>
        stopAndRecreate(f, '1.1.1'),
      ),
    );
    rows.push(
      await measure(f, 'stop-recreate  1.1.1 → 1.2.0 (migration)', sessions, '1.2.0', () =>
        stopAndRecreate(f, '1.2.0'),
      ),
    );
    print(rows);
  } finally {
    await cleanUp();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
