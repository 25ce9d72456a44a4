// Benchmark: upgrading prod under load, odp against the original document's
// stop-and-recreate upgrade (`rancher-compose up --pull --recreate`: every
// container stopped, new ones started, each racing to migrate at its start).
//
// One platform of its own (embedded S3, the HAProxy edge on loopback), prod with
// two replicas. Logged-in virtual users go through the edge over HTTPS the whole
// time: each checks its session (`/web/session/get_session_info`) and the
// version. Four upgrades, in this order, in one run:
//
//   odp                1.0.0 → 1.0.1   no migration
//   odp                1.0.1 → 1.1.0   migration
//   stop-and-recreate  1.1.0 → 1.1.1   no migration
//   stop-and-recreate  1.1.1 → 1.2.0   migration
//
// Printed per upgrade: requests, failures (anything but 2xx/3xx, a lost
// session, or a 503 that is not a maintenance answer with Retry-After during a
// migration), maintenance answers, the window clients saw them in, and the
// migration's own duration (marabunta_version's date_start → date_done). The
// edge's log lines of failed requests are printed with their termination state.
//
//   npm run bench:upgrade-under-load
import { setTimeout as sleep } from 'node:timers/promises';
import { sharedUnit } from '../src/compose/platform.js';
import { unitName } from '../src/model/stack.js';
import { silentProgress } from '../src/progress.js';
import { planUpgrade } from '../src/ops/upgrade-plan.js';
import { readinessProbe } from '../src/plan/plan.js';
import { waitRouted } from '../src/ops/edge-sync.js';
import { loadPlatformDir } from '../src/platformdir/load.js';
import { cleanUp, docker, engine, setUp } from '../test/e2e/helpers.js';
import { SETUP, upgradeFixture, withVersion, type UpgradeFixture } from '../test/e2e/upgrade-fixture.js';

const USERS = 6;
/** What the migration versions do: a write, then work that takes a while. */
const MIGRATION_SECONDS = 5;

interface Tally {
  requests: number;
  failures: string[];
  maintenance: number;
  firstMaintenance?: number;
  lastMaintenance?: number;
}

/** Virtual users through the edge until stopped; each logged in once, its session checked every time. */
function load(f: UpgradeFixture, sessions: string[], migrating: boolean) {
  const t: Tally = { requests: 0, failures: [], maintenance: 0 };
  let stop = false;
  const one = async (sid: string): Promise<void> => {
    while (!stop) {
      for (const path of ['/web/session/get_session_info', '/web/version']) {
        const r = await f.viaEdge(path, { headers: { cookie: `session_id=${sid}` } });
        t.requests++;
        const at = Date.now();
        if (r.status >= 200 && r.status < 400) continue;
        if (migrating && r.status === 503 && r.headers['retry-after']) {
          t.maintenance++;
          t.firstMaintenance ??= at;
          t.lastMaintenance = at;
        } else t.failures.push(`${new Date(at).toISOString()} ${path} ${r.status} ${r.body.slice(0, 50)}`);
      }
    }
  };
  const running = Promise.all(sessions.map(one));
  return {
    tally: t,
    async end(): Promise<Tally> {
      stop = true;
      await running;
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
  for (const u of ctx.observed) await engine.remove(u.name, 10);
  const migrating = ctx.units.map((u) =>
    u.service.role === 'odoo'
      ? { ...u, service: { ...u.service, env: new Map([...u.service.env].filter(([k]) => k !== 'MIGRATE')) } }
      : u,
  );
  const odoo = migrating.filter((u) => u.service.role === 'odoo');
  await Promise.all(odoo.map((u) => engine.run(u)));
  await Promise.all(migrating.filter((u) => u.service.role !== 'odoo').map((u) => engine.run(u)));
  for (const u of odoo)
    await engine.waitReady(unitName(f.stack, 'odoo', u.replica), readinessProbe(u.service.health!), {
      timeoutMs: 600_000,
    });
  const pd = await loadPlatformDir(f.tp.dir);
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
async function edgeErrors(f: UpgradeFixture, since: number): Promise<string[]> {
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
      // Answers ≥ 500 and HAProxy's own notices: servers going DOWN or UP (with the
      // health check's reason), addresses changed through DNS.
      .filter((l) => /"status":5\d\d|Server .* is (DOWN|UP)|changed its IP|is going DOWN/.test(l))
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
  } finally {
    await l.end();
  }
  const seconds = (Date.now() - start) / 1000;
  const migration = migrating ? await migrationSeconds(f, migrating) : undefined;
  const edgeLog = l.tally.failures.length ? await edgeErrors(f, start) : [];
  const odpSteps = steps;
  steps = [];
  return {
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
  // Where odp's maintenance window goes: the steps of its migration upgrade.
  for (const r of rows.filter((x) => x.migration !== undefined && x.steps.length && !x.t.failures.length)) {
    console.log(`\n${r.name}: odp's steps`);
    for (const x of r.steps.filter((l) => / ok /.test(l))) console.log(`  ${x}`);
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
    console.log(`prod ${f.stack}: 2 replicas, ${USERS} logged-in users through the edge`);
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
