// upgrade-under-load.ts on a three-node swarm (`--engine swarm`), set up as
// test/e2e/swarm-platform.test.ts does it (test/e2e/swarm-fixture.ts): prod's two
// replicas on app1 and app2, the edge on app1, its HTTPS port on 127.0.0.1. odp's
// two upgrades against Swarm's own rolling update (`docker service update
// --image` on the manager, the default update config: one task at a time,
// stop-first), what a user of plain `docker stack deploy` gets.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { sharedUnit } from '../../src/compose/platform.js';
import { dockerAt } from '../../src/engines/docker/client.js';
import { LABEL } from '../../src/engines/engine.js';
import { loadProjectSecrets } from '../../src/ops/secrets/secrets.js';
import { cleanUp, execIn, uniqueName } from '../../test/e2e/helpers.js';
import { loadImages } from '../../test/e2e/swarm-cluster.js';
import { swarmPlatform, type SwarmPlatform } from '../../test/e2e/swarm-fixture.js';
import { benchVersions, login, measure, odpDeploy, USERS, type Row, type Target } from './measure.js';
import { print } from './print.js';

/** A command on the manager's node, as an operator types it there; bounded in time. */
async function onManager(p: SwarmPlatform, cmd: string[]): Promise<string> {
  const r = await execIn(p.node('app1').container, ['timeout', '600', ...cmd]);
  if (r.code !== 0) throw new Error(`${cmd.join(' ')} exited ${r.code}: ${r.out}`);
  return r.out;
}

/**
 * Swarm's rolling update of prod's Odoo to `version`: `docker service update
 * --image` with the default update config, one replica after the other (a
 * replica is a service of its own on a swarm, decision 0073; a stack's service
 * of two replicas is updated one task at a time). MIGRATE=False, which odp sets
 * since it runs migrations as a job, is removed: each new task migrates at its
 * start, as a plain stack's service does.
 */
async function swarmUpdate(p: SwarmPlatform, version: string): Promise<void> {
  const manager = dockerAt(p.swarm.dockerHost);
  const services = await manager.listServices({
    filters: JSON.stringify({
      label: [`${LABEL.project}=${p.tp.project}`, `${LABEL.instance}=prod`, `${LABEL.service}=odoo`],
    }),
  });
  const names = services.map((s) => s.Spec!.Name!).sort();
  if (names.length !== 2) throw new Error(`prod's Odoo services: ${names.join(', ')}`);
  for (const name of names) {
    // No registry here: the image is on the nodes already, under its tag.
    await onManager(p, [
      'docker',
      'service',
      'update',
      '--quiet',
      '--no-resolve-image',
      '--image',
      `${p.tp.image}:${version}`,
      '--env-rm',
      'MIGRATE',
      name,
    ]);
  }
}

async function target(p: SwarmPlatform): Promise<Target> {
  const secrets = (await loadProjectSecrets(p.tp.dir, p.tp.project, {}))!;
  const spec = parse(await readFile(path.join(p.tp.dir, 'projects', `${p.tp.project}.yaml`), 'utf8')) as {
    instances: { prod: { database: string; dbUser?: string } };
  };
  const database = spec.instances.prod.database;
  const role = spec.instances.prod.dbUser ?? database;
  const manager = dockerAt(p.swarm.dockerHost);
  return {
    project: p.tp.project,
    adminPassword: secrets.get('PROD__ADMIN_PASSWD')!,
    viaEdge: (pathname, o) => p.edge(pathname, p.domain, 'app1', o),
    odp: (args) => p.odp(args),
    // Through prod's PostgreSQL task on db1, by that node's engine: nothing of db1 is on loopback.
    async migrationSeconds(version) {
      const db1 = p.node('db1').container;
      const service = sharedUnit({ name: p.tp.platform }, 'postgres-prod');
      const ps = await execIn(db1, [
        'docker',
        'ps',
        '-q',
        '--filter',
        `label=com.docker.swarm.service.name=${service}`,
      ]);
      const id = ps.out.trim().split('\n')[0];
      if (ps.code !== 0 || !id) throw new Error(`no task of ${service} on db1: ${ps.out}`);
      const sql = `SELECT EXTRACT(EPOCH FROM date_done - date_start)::float FROM marabunta_version WHERE number = '${version}'`;
      const r = await execIn(db1, [
        'docker',
        'exec',
        '-e',
        `PGPASSWORD=${secrets.get('PROD__DB_PASSWORD')!.reveal()}`,
        id,
        'psql',
        '-h',
        '127.0.0.1',
        '-U',
        role,
        '-d',
        database,
        '-tAc',
        sql,
      ]);
      if (r.code !== 0) throw new Error(`psql on db1 exited ${r.code}: ${r.out}`);
      return r.out.trim() ? Number(r.out.trim()) : undefined;
    },
    async edgeLog(since) {
      const raw = (await manager.getService(sharedUnit({ name: p.tp.platform }, 'edge')).logs({
        stdout: true,
        stderr: true,
        timestamps: true,
        since: Math.floor(since / 1000),
      })) as unknown;
      return Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw ?? '');
    },
    steps: [],
  };
}

export async function onSwarm(concurrency: number, migrationSeconds: number): Promise<void> {
  let p: SwarmPlatform | undefined;
  try {
    p = await swarmPlatform(uniqueName('odp-bswu'), uniqueName('benchswu'), benchVersions(migrationSeconds));
    const t = await target(p);
    const sp = p;
    await odpDeploy(t, '1.0.0');
    // The peer's versions reach the production nodes as a plain stack's user puts them
    // there; odp's own deploys copy what they run (offlineImages, decision 0077).
    await loadImages(
      p.swarm,
      ['1.1.1', '1.2.0'].map((v) => `${p!.tp.image}:${v}`),
      ['app1', 'app2'],
    );
    const sessions = await Promise.all(Array.from({ length: USERS }, () => login(t)));
    console.log(
      `prod ${p.tp.project}-odoo-prod on a swarm (replicas on app1 and app2, the edge on app1): 2 replicas, ${USERS} logged-in users on ${concurrency} kept-alive connections through the edge`,
    );
    const rows: Row[] = [];
    const run = (name: string, migrating: string | undefined, upgrade: () => Promise<void>) =>
      measure(t, concurrency, name, sessions, migrating, upgrade);
    rows.push(
      await run('odp            1.0.0 → 1.0.1 (no migration)', undefined, () => odpDeploy(t, '1.0.1')),
    );
    rows.push(await run('odp            1.0.1 → 1.1.0 (migration)', '1.1.0', () => odpDeploy(t, '1.1.0')));
    rows.push(
      await run('swarm update   1.1.0 → 1.1.1 (no migration)', undefined, () => swarmUpdate(sp, '1.1.1')),
    );
    rows.push(await run('swarm update   1.1.1 → 1.2.0 (migration)', '1.2.0', () => swarmUpdate(sp, '1.2.0')));
    print(rows, 'Swarm rolling update');
  } finally {
    await p?.remove();
    await cleanUp();
  }
}
