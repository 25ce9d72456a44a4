// A platform on a real swarm of three engines on this machine (swarm-cluster.ts),
// set up through the CLI as an operator does it with `engine: swarm`: app1 (the
// manager: an edge, the embedded S3 server, prod), app2 (prod, integration and
// test, the second edge; its engine's state outlives `docker kill`), db1 (the
// databases); the images on the manager, copied by odp to the nodes that run
// them (offlineImages), `odp hosts sync`, `odp platform up`, `odp provision PROJECT prod`. Used by
// swarm-platform.test.ts and bench/upgrade-under-load.ts (`--engine swarm`).
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { viaEdge, type EdgeReply, type EdgeRequest } from '../helpers/edge.js';
import { freePort, startPebble, type PebbleHandle } from '../helpers/pebble.js';
import {
  buildSampleImage,
  makePlatform,
  runCli,
  setUp,
  type CliResult,
  type Data,
  type TestPlatform,
} from './helpers.js';
import { loadImages, startSwarm, type TestNode, type TestSwarm } from './swarm-cluster.js';

export interface SwarmPlatform {
  swarm: TestSwarm;
  tp: TestPlatform;
  /** The environment odp runs with: DOCKER_HOST at the manager's API on 127.0.0.1. */
  env: NodeJS.ProcessEnv;
  /** Prod's domain. */
  domain: string;
  odp(args: string[]): Promise<CliResult>;
  node(host: string): TestNode;
  /** A request through the edge of `host` (default app1) on its HTTPS port on 127.0.0.1, for `to` (default prod's domain). */
  edge(pathname: string, to?: string, host?: string, o?: EdgeRequest): Promise<EdgeReply>;
  /** The swarm's nodes and network, and Pebble. */
  remove(): Promise<void>;
}

/**
 * The swarm (nodes `<prefix>-app1`, `-app2`, `-db1`) and the platform of project
 * `project` on it, prod provisioned. `versions`: the project's images to build
 * and load onto the production hosts, by tag, each with its migration.yml (the
 * image `latest`, for test instances, is always built).
 */
export async function swarmPlatform(
  prefix: string,
  project: string,
  versions: [version: string, migration: string][],
): Promise<SwarmPlatform> {
  await setUp();
  const tp = await makePlatform(project);
  const domain = `${tp.project}.odoo.example.ch`;
  let swarm: TestSwarm | undefined;
  let pebble: PebbleHandle | undefined;
  const remove = async () => {
    await pebble?.stop();
    await swarm?.remove();
  };
  try {
    await buildSampleImage(`${tp.image}:latest`, '1.0.0');
    for (const [version, migration] of versions)
      await buildSampleImage(`${tp.image}:${version}`, { version, files: { 'migration.yml': migration } });
    // The edge and the embedded S3 server run on app1: the edge's ports on loopback for
    // the requests, S3's on the same loopback port as its endpoint says (odp reaches it there).
    const s3Port = await freePort();
    // app2 is the second edge, and the node the failure tests lose: its engine's
    // state outlives `docker kill`, its ports stay where they were when it returns.
    const [http2, https2] = [await freePort(), await freePort()];
    swarm = await startSwarm(prefix, ['app1', 'app2', 'db1'], {
      publish: {
        app1: [80, 443, [s3Port, s3Port]],
        app2: [
          [80, http2],
          [443, https2],
        ],
      },
      persistent: ['app2'],
    });
    const nodes = swarm.nodes;
    const node = (h: string) => nodes.find((n) => n.hostname === h)!;
    const env = { DOCKER_HOST: swarm.dockerHost };
    pebble = await startPebble({ httpPort: node('app1').ports[80]!, alwaysValid: true });
    await writeFile(path.join(tp.dir, 'pebble-listener.pem'), pebble.listenerCa);
    const file = path.join(tp.dir, 'platform.yaml');
    const d = parse(await readFile(file, 'utf8')) as Data;
    d.engine = 'swarm';
    const host = (h: string, datacentre: string, labels: string[]) => ({
      address: node(h).ip,
      docker: `tcp://${node(h).ip}:2375`,
      datacentre,
      labels,
    });
    d.hosts = {
      app1: host('app1', 'dc1', ['application', 'production']),
      // The test and integration instances' host too.
      app2: host('app2', 'dc2', ['application', 'production', 'integration']),
      db1: host('db1', 'dc1', ['database']),
    };
    d.services.postgres = { primary: 'db1', port: 5432 };
    d.services.postgresIntegration = { host: 'db1' };
    d.services.redis = { host: 'app1' };
    d.services.redisIntegration = { host: 'db1' };
    d.services.storage = { endpoint: `http://127.0.0.1:${s3Port}`, region: 'us-east-1', embedded: true };
    d.services.edge = { hosts: ['app1', 'app2'], httpPort: 80, httpsPort: 443 };
    d.acme = {
      directory: pebble.directoryUrl,
      email: 'ops@odp.test',
      challenge: 'http-01',
      caFile: 'pebble-listener.pem',
      verifyChallenges: false,
    };
    // No registry here: the manager (app1) holds every image, as `odp images build`
    // leaves them there, and odp copies each onto the nodes that may run it
    // (offlineImages, docs/decisions/0077).
    d.offlineImages = true;
    await writeFile(file, stringify(d));
    const odoo = versions.map(([v]) => `${tp.image}:${v}`);
    await loadImages(
      swarm,
      [
        'odp/nginx:1.22',
        'odp/redis:7',
        'odp/postgres:15',
        'odp/haproxy:2.6',
        'odp/s3rver:3',
        `${tp.image}:latest`,
        ...odoo,
      ],
      ['app1'],
    );
    const odp = (args: string[]) => runCli(['-C', tp.dir, ...args], { env, timeoutMs: 900_000 });
    const sync = await odp(['hosts', 'sync']);
    assert.equal(sync.code, 0, sync.stderr);
    const up = await odp(['platform', 'up']);
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    const prov = await odp(['provision', tp.project, 'prod']);
    assert.equal(prov.code, 0, `${prov.stdout}\n${prov.stderr}`);
    return {
      swarm,
      tp,
      env,
      domain,
      odp,
      node,
      edge: (pathname, to = domain, host = 'app1', o) => viaEdge(node(host).ports[443]!, to, pathname, o),
      remove,
    };
  } catch (e) {
    await remove();
    throw e;
  }
}
