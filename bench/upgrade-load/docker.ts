// upgrade-under-load.ts on the local Docker engine (`--engine docker`, the
// default): odp's two upgrades against the original document's stop-and-recreate
// (`rancher-compose up --pull --recreate`: every container stopped, new ones
// started, each racing to migrate at its start).
import { sharedUnit } from '../../src/compose/platform.js';
import { unitName } from '../../src/model/stack.js';
import { silentProgress } from '../../src/progress.js';
import { planUpgrade } from '../../src/ops/release/upgrade-plan.js';
import { readinessProbe } from '../../src/plan/plan.js';
import { edgeControl, waitRouted } from '../../src/ops/edge/edge-sync.js';
import { setServing } from '../../src/state/serving.js';
import { loadPlatformDir } from '../../src/platformdir/load.js';
import { cleanUp, docker, engine, setUp } from '../../test/e2e/helpers.js';
import { upgradeFixture, type UpgradeFixture } from '../../test/e2e/upgrade-fixture.js';
import { benchVersions, login, measure, odpDeploy, USERS, type Row, type Target } from './measure.js';
import { print } from './print.js';

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

function target(f: UpgradeFixture): Target {
  return {
    project: f.tp.project,
    adminPassword: f.adminPassword,
    viaEdge: (pathname, o) => f.viaEdge(pathname, o),
    odp: (args) => f.odp(args),
    migrationSeconds: (version) =>
      f.asRole(async (c) => {
        const r = await c.query<{ s: number | null }>(
          'SELECT EXTRACT(EPOCH FROM date_done - date_start)::float AS s FROM marabunta_version WHERE number = $1',
          [version],
        );
        return r.rows[0]?.s ?? undefined;
      }),
    async edgeLog(since) {
      const c = docker.getContainer(sharedUnit({ name: f.tp.platform }, 'edge'));
      const raw = (await c.logs({
        stdout: true,
        stderr: true,
        timestamps: true,
        since: Math.floor(since / 1000),
      })) as Buffer;
      return raw.toString('utf8');
    },
    steps: [],
  };
}

export async function onDocker(concurrency: number, migrationSeconds: number): Promise<void> {
  await setUp();
  const f = await upgradeFixture('benchupg');
  const t = target(f);
  try {
    for (const [v, m] of benchVersions(migrationSeconds)) await f.buildImage(v, m);
    await odpDeploy(t, '1.0.0');
    const sessions = await Promise.all(Array.from({ length: USERS }, () => login(t)));
    console.log(
      `prod ${f.stack}: 2 replicas, ${USERS} logged-in users on ${concurrency} kept-alive connections through the edge`,
    );
    const rows: Row[] = [];
    const run = (name: string, migrating: string | undefined, upgrade: () => Promise<void>) =>
      measure(t, concurrency, name, sessions, migrating, upgrade);
    // BENCH_ONLY=1 runs only the first upgrade (odp without migration), to study it alone.
    if (process.env.BENCH_ONLY === '1') {
      rows.push(
        await run('odp            1.0.0 → 1.0.1 (no migration)', undefined, () => odpDeploy(t, '1.0.1')),
      );
      print(rows, 'stop-and-recreate');
      return;
    }
    rows.push(
      await run('odp            1.0.0 → 1.0.1 (no migration)', undefined, () => odpDeploy(t, '1.0.1')),
    );
    rows.push(await run('odp            1.0.1 → 1.1.0 (migration)', '1.1.0', () => odpDeploy(t, '1.1.0')));
    rows.push(
      await run('stop-recreate  1.1.0 → 1.1.1 (no migration)', undefined, () => stopAndRecreate(f, '1.1.1')),
    );
    rows.push(
      await run('stop-recreate  1.1.1 → 1.2.0 (migration)', '1.2.0', () => stopAndRecreate(f, '1.2.0')),
    );
    print(rows, 'stop-and-recreate');
  } finally {
    await cleanUp();
  }
}
