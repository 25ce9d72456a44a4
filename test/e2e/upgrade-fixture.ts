// A platform of its own for the pinned-deploy tests (issue 5): embedded S3 and
// the edge on free loopback ports, the project's prod provisioned, and what the
// tests read and do through it: images at a version with their own
// migration.yml, the role's database, requests through the edge with the
// instance's SNI and Host, the version each replica serves, the CLI.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { connect, type PgClient } from '../../src/backends/postgres/index.js';
import { sharedUnit } from '../../src/compose/platform.js';
import { platformUp } from '../../src/ops/platform/platform.js';
import { silentProgress } from '../../src/progress.js';
import { loadProjectSecrets } from '../../src/ops/secrets/secrets.js';
import type { UpgradePlan } from '../../src/ops/release/upgrade-plan.js';
import type { Secret } from '../../src/secret.js';
import {
  viaEdge as edgeRequest,
  withEdgeAndStorage,
  type EdgeReply,
  type EdgeRequest,
} from '../helpers/edge.js';
import {
  buildSampleImage,
  docker,
  engine,
  get,
  makePlatform,
  runCli,
  uniqueName,
  type TestPlatform,
} from './helpers.js';

/** The sample project's migration file: setup (cloud platform) and 1.0.0; later versions append. */
export const SETUP = `migration:
  options:
    install_command: odoo
  versions:
    - version: setup
      operations:
        post:
          - ref-install-cloud-platform
      addons:
        upgrade:
          - base
          - cloud_platform
    - version: 1.0.0
`;

/** A migration version whose post operations are these shell commands. */
export function withVersion(base: string, version: string, ...commands: string[]): string {
  return `${base}    - version: ${version}
      operations:
        post:
${commands.map((c) => `          - ${JSON.stringify(c)}\n`).join('')}`;
}

export type Reply = EdgeReply;

export interface UpgradeFixture {
  tp: TestPlatform;
  stack: string;
  domain: string;
  adminPassword: Secret;
  odp(args: string[], opts?: Parameters<typeof runCli>[1]): ReturnType<typeof runCli>;
  buildImage(version: string, migration: string, extra?: string): Promise<void>;
  asRole<T>(fn: (c: PgClient) => Promise<T>): Promise<T>;
  dryRun(version: string): Promise<UpgradePlan>;
  servedVersions(): Promise<string[]>;
  /** A request through the edge with prod's SNI and Host (status 0 when it failed). */
  viaEdge(pathname: string, o?: Pick<EdgeRequest, 'method' | 'body' | 'headers' | 'agent'>): Promise<Reply>;
  specVersion(): Promise<string>;
  unitNames(): Promise<string[]>;
  /** What unitNames() is while prod runs normally: two replicas, each with its nginx sidecar. */
  prodUnits: string[];
}

export async function upgradeFixture(prefix: string): Promise<UpgradeFixture> {
  const project = uniqueName(prefix);
  const tp = await makePlatform(project);
  const stack = `${project}-odoo-prod`;
  const domain = `${project}.odoo.example.ch`;
  const { httpsPort } = await withEdgeAndStorage(tp);
  await platformUp(engine, tp.dir, { progress: silentProgress });
  const secrets = (await loadProjectSecrets(tp.dir, project, {}))!;
  const dbPassword = secrets.get('PROD__DB_PASSWORD')!;
  const adminPassword = secrets.get('PROD__ADMIN_PASSWD')!;
  const spec = parse(await readFile(path.join(tp.dir, 'projects', `${project}.yaml`), 'utf8')) as {
    instances: { prod: { database: string; dbUser?: string } };
  };
  const database = spec.instances.prod.database;
  const role = spec.instances.prod.dbUser ?? database;
  const odp: UpgradeFixture['odp'] = (args, opts = {}) =>
    runCli(['--dir', tp.dir, ...args], { timeoutMs: 600_000, ...opts });
  const prov = await odp(['provision', project, 'prod']);
  assert.equal(prov.code, 0, prov.stderr);

  const viaEdge: UpgradeFixture['viaEdge'] = (pathname, o = {}) =>
    edgeRequest(httpsPort, domain, pathname, o);

  return {
    tp,
    stack,
    domain,
    adminPassword,
    odp,
    buildImage: (version, migration, extra) =>
      buildSampleImage(`${tp.image}:${version}`, {
        version,
        files: { 'migration.yml': migration },
        ...(extra ? { dockerfile: extra } : {}),
      }),
    async asRole(fn) {
      const info = await docker.getContainer(sharedUnit({ name: tp.platform }, 'postgres-prod')).inspect();
      const port = Number(info.NetworkSettings.Ports['5432/tcp']?.[0]?.HostPort);
      const c = await connect({ host: '127.0.0.1', port, user: role, password: dbPassword, database });
      try {
        return await fn(c);
      } finally {
        await c.end();
      }
    },
    async dryRun(version) {
      const r = await odp(['deploy', project, 'prod', '--version', version, '--dry-run', '--json']);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { plan: UpgradePlan }).plan;
    },
    async servedVersions() {
      const out: string[] = [];
      const odoo = await docker.listContainers({
        filters: JSON.stringify({
          label: [`odp.project=${project}`, 'odp.instance=prod', 'odp.service=odoo'],
        }),
      });
      const names = odoo.map((c) => (c.Names[0] ?? '').replace(/^\//, '')).sort();
      for (const name of names) {
        const info = await docker.getContainer(name).inspect();
        const port = info.NetworkSettings.Ports['80/tcp']?.[0]?.HostPort;
        const r = await get(`http://127.0.0.1:${port}/web/version`);
        assert.equal(r.status, 200);
        out.push((JSON.parse(r.body) as { version: string }).version);
      }
      return out;
    },
    viaEdge,
    async specVersion() {
      const text = await readFile(path.join(tp.dir, 'projects', `${project}.yaml`), 'utf8');
      return (parse(text) as { instances: { prod: { version: string } } }).instances.prod.version;
    },
    prodUnits: ['nginx-1', 'nginx-2', 'odoo-1', 'odoo-2'].map((u) => `${stack}-${u}`),
    // Units carry their release in their names (docs/decisions/0058): shown
    // without it when all are of one release, as they are when nothing is under way.
    async unitNames() {
      const units = await docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`odp.project=${project}`] }),
      });
      const names = units.map((c) => (c.Names[0] ?? '').replace(/^\//, '')).sort();
      const releases = new Set(units.map((c) => c.Labels['odp.release'] ?? ''));
      if (releases.size !== 1) return names;
      const [release] = releases;
      return names.map((n) => n.replace(`-${release}-`, '-')).sort();
    },
  };
}
