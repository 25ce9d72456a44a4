// The edge with real containers: odp/haproxy on its own network, published on
// loopback, in front of two nginx containers that answer like an instance's
// sidecar (`/web/health` 200, their own name on `/`), configured through `Edge`
// (src/backends/haproxy/edge.ts) with certificates made here by a throwaway CA.
// Everything carries this run's labels and is removed afterwards, pass or fail.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Edge } from '../../src/backends/haproxy/edge.js';
import { isOdpError } from '../../src/errors.js';
import { buildImages } from '../../src/images/build.js';
import { backendName, EDGE_SOCKET, renderHaproxyCfg, type EdgeRoute } from '../../src/render/haproxy-cfg.js';
import { viaEdge } from '../helpers/edge.js';
import { docker, engine, images, execIn, removeLabelled, sleep } from './helpers.js';

const run = `edge${randomBytes(3).toString('hex')}`;
const labels = { 'odp.test': 'edge-e2e', 'odp.test.run': run };
const network = `${run}-edge`;
const volume = `${run}-shared-edge`;
const edgeName = `${run}-shared-edge-1`;
/** Named like instances' Odoo containers, whose namespace their nginx sidecar listens in. */
const backendA = `${run}-odoo-a-odoo-1`;
const backendB = `${run}-odoo-b-odoo-1`;
const A = 'a.example.test';
const B = 'b.example.test';
const C = 'c.example.test';
const work = mkdtempSync(join(tmpdir(), 'odp-edge-e2e-'));

let edge: Edge;
let httpPort = 0;
let httpsPort = 0;
let ca = '';
const certs = new Map<string, string>();

// ---- certificates: a CA made for this run, one leaf per domain ----

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCertificates(): void {
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=odp e2e CA'].concat([
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ]),
  );
  ca = readFileSync(join(work, 'ca.crt'), 'utf8');
  for (const d of [A, B, C]) {
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${d}`,
        '-addext',
        `subjectAltName=DNS:${d}`,
      ].concat(['-keyout', `${d}.key`, '-out', `${d}.csr`]),
    );
    openssl(
      ['x509', '-req', '-in', `${d}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
        '-days',
        '2',
        '-copy_extensions',
        'copy',
        '-out',
        `${d}.crt`,
      ]),
    );
    certs.set(d, readFileSync(join(work, `${d}.crt`), 'utf8') + readFileSync(join(work, `${d}.key`), 'utf8'));
  }
}

// ---- requests ----

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The certificate's common name (HTTPS). */
  cn?: string;
}

/** Every socket a request went out on, and how many answers asked to close theirs (load test). */
const sockets = new Set<unknown>();
let closeAnswers = 0;

function collect(req: http.ClientRequest, resolve: (r: Reply) => void, reject: (e: Error) => void): void {
  req.on('socket', (sock) => sockets.add(sock));
  req.on('response', (res) => {
    if (res.headers.connection === 'close') closeAnswers++;
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () =>
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: Buffer.concat(chunks).toString(),
      }),
    );
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', reject);
  req.end();
}

function get(host: string, path: string, agent?: http.Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: httpPort,
      path,
      headers: { host: `${host}:${httpPort}` },
      timeout: 10_000,
      // A fresh connection unless the caller pools them: a kept-alive connection to a
      // worker that a reload replaced gets one last answer from it (then "Connection: close").
      agent: agent ?? false,
    });
    collect(req, resolve, reject);
  });
}

/** HTTPS with SNI `servername`, verified against this run's CA unless `insecure`; rejects on error. */
async function getTls(
  servername: string,
  path: string,
  opts: { host?: string; agent?: https.Agent; insecure?: boolean } = {},
): Promise<Reply> {
  const r = await viaEdge(httpsPort, servername, path, {
    host: `${opts.host ?? servername}:${httpsPort}`,
    ...(opts.insecure ? {} : { ca }),
    ...(opts.agent ? { agent: opts.agent } : {}),
    onSocket: (s) => sockets.add(s),
  });
  if (r.status === 0) throw new Error(r.body);
  if (r.headers.connection === 'close') closeAnswers++;
  const cn = r.cert?.subject?.CN;
  return { status: r.status, headers: r.headers, body: r.body, ...(cn ? { cn: String(cn) } : {}) };
}

/** Retries `probe` until `ok` (bounded): the edge, DNS and health checks come up in their own time. */
async function until<T>(
  what: string,
  probe: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (ok(v)) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`${what}: not within ${ms / 1000}s (last: ${JSON.stringify(last) ?? String(last)})`);
}

// ---- containers ----

const nginxConf = (name: string): string =>
  `events {}
http {
  access_log off;
  server {
    listen 80;
    location = /web/health { return 200 'ok'; }
    location / { default_type text/plain; return 200 '${name}'; }
  }
}`;

async function startContainer(body: Parameters<typeof docker.createContainer>[0]): Promise<void> {
  const c = await docker.createContainer({ ...body, Labels: labels });
  await c.start();
}

function cfg(routes: EdgeRoute[]): string {
  return renderHaproxyCfg({ routes, certificates: routes.map((r) => r.domain).filter((d) => certs.has(d)) });
}
const baseRoutes: EdgeRoute[] = [
  { domain: A, servers: [backendA] },
  { domain: B, servers: [backendB] },
];

async function cleanUp(): Promise<void> {
  await removeLabelled(`odp.test.run=${run}`); // the edge's volume too: it carries the labels
  rmSync(work, { recursive: true, force: true });
}

before(async () => {
  await docker.ping();
  await buildImages({ images, only: ['haproxy', 'nginx'] });
  makeCertificates();
  await docker.createNetwork({ Name: network, Driver: 'bridge', Labels: labels, CheckDuplicate: true });
  await docker.createVolume({ Name: volume, Labels: labels });
  for (const name of [backendA, backendB]) {
    await startContainer({
      name,
      Image: 'odp/nginx:1.22',
      Env: [`NGINX_CONF=${nginxConf(name)}`],
      HostConfig: { NetworkMode: network },
    });
  }
  await startContainer({
    name: edgeName,
    Image: 'odp/haproxy:2.6',
    ExposedPorts: { '80/tcp': {}, '443/tcp': {} },
    HostConfig: {
      NetworkMode: network,
      // Loopback only, on high ports the engine picks.
      PortBindings: {
        '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
        '443/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
      },
      Mounts: [{ Type: 'volume', Source: volume, Target: '/usr/local/etc/haproxy' }],
    },
  });
  await readPorts();
  edge = new Edge(engine, edgeName);
  // The built-in configuration answers the health check before anything is applied.
  await until(
    'edge health',
    () => get('edge', '/.odp/edge-health'),
    (r) => r.status === 200,
  );
  await edge.apply(cfg(baseRoutes), certs, new Map());
  // Docker's DNS, then health checks, bring the servers up.
  await until(
    'backend A',
    () => getTls(A, '/'),
    (r) => r.body === backendA,
  );
  await until(
    'backend B',
    () => getTls(B, '/'),
    (r) => r.body === backendB,
  );
});

after(cleanUp);

/** The loopback ports the engine published the edge on (new ones after each start). */
async function readPorts(): Promise<void> {
  const info = await docker.getContainer(edgeName).inspect();
  httpPort = Number(info.NetworkSettings.Ports['80/tcp']?.[0]?.HostPort);
  httpsPort = Number(info.NetworkSettings.Ports['443/tcp']?.[0]?.HostPort);
}

test('the edge answers its health check on plain HTTP', async () => {
  const r = await get('anything.example.test', '/.odp/edge-health');
  assert.equal(r.status, 200);
});

test('plain HTTP is 301 to https, same host (no port) and path', async () => {
  const r = await get(A, '/web/login?redirect=%2Fodoo');
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, `https://${A}/web/login?redirect=%2Fodoo`);
});

test('ACME HTTP-01: the key authorization after setChallenge, 404 for unknown tokens', async () => {
  const token = `tok-${randomBytes(8).toString('hex')}`;
  const keyAuth = `${token}.Thumb_print-${randomBytes(4).toString('hex')}`;
  const path = `/.well-known/acme-challenge/${token}`;
  assert.equal((await get(A, path)).status, 404);
  await edge.setChallenge(token, keyAuth);
  const r = await get(A, path);
  assert.equal(r.status, 200);
  assert.equal(r.body, keyAuth);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  assert.equal((await get(A, '/.well-known/acme-challenge/unknown-token')).status, 404);
  // Kept in the live release's map: a reload keeps it.
  const map = await edgeFile('current/acme.map');
  assert.match(map, new RegExp(`^${token} ${keyAuth.replace(/\./g, '\\.')}$`, 'm'));
  // An apply that names no challenges keeps the pending ones.
  await edge.apply(cfg(baseRoutes), certs);
  assert.equal((await get(A, path)).body, keyAuth);
  await edge.removeChallenge(token);
  assert.equal((await get(A, path)).status, 404);
  // Challenges given to apply are served from the new release.
  await edge.apply(cfg(baseRoutes), certs, new Map([[token, keyAuth]]));
  assert.equal((await get(B, path)).body, keyAuth);
  await edge.apply(cfg(baseRoutes), certs, new Map());
  assert.equal((await get(B, path)).status, 404);
});

test('HTTPS: SNI picks the certificate, Host the backend', async () => {
  const a = await getTls(A, '/');
  assert.equal(a.status, 200);
  assert.equal(a.body, backendA);
  assert.equal(a.cn, A);
  assert.match(String(a.headers['strict-transport-security']), /max-age=\d+/);
  const b = await getTls(B, '/some/page');
  assert.equal(b.body, backendB);
  assert.equal(b.cn, B);
  // An unknown site: the default (self-signed) certificate, and 404.
  const unknown = await getTls('nowhere.example.test', '/', { insecure: true });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.cn, 'odp-edge-default');
  // A request for another site than the connection's certificate names.
  const other = await getTls(A, '/', { host: B });
  assert.equal(other.status, 421);
});

test('HTTPS: /web/database is refused for every instance', async () => {
  for (const d of [A, B]) {
    for (const path of [
      '/web/database/manager',
      '/web/database/selector',
      '/web/%64atabase/manager',
      '//web/database/list',
    ]) {
      const r = await getTls(d, path);
      assert.equal(r.status, 403, `${d}${path}`);
    }
  }
  assert.equal((await getTls(A, '/web/databases-are-not-here')).status, 403); // a prefix, as the sidecar's
  assert.equal((await getTls(A, '/web/login')).status, 200);
});

test('a site in maintenance answers 503 with Retry-After and a page', async () => {
  await edge.apply(cfg([baseRoutes[0]!, { ...baseRoutes[1]!, maintenance: true }]), certs, new Map(), [B]);
  const r = await getTls(B, '/web');
  assert.equal(r.status, 503);
  assert.ok(Number(r.headers['retry-after']) > 0);
  assert.match(r.body, /maintenance/i);
  assert.match(r.body, /b\.example\.test/);
  assert.equal((await getTls(A, '/')).body, backendA);
  await edge.apply(cfg(baseRoutes), certs, new Map(), []);
  await until(
    'backend B back',
    () => getTls(B, '/'),
    (x) => x.body === backendB,
  );
  // Through the runtime API, with no reload: in and out of maintenance at once.
  const worker = (await edge.runtime(['show info'])).match(/^Pid: (\d+)$/m)?.[1];
  await edge.setMaintenance(B, true);
  assert.equal((await getTls(B, '/web')).status, 503);
  assert.equal((await getTls(A, '/')).body, backendA);
  await edge.setMaintenance(B, false);
  assert.equal((await getTls(B, '/')).body, backendB);
  assert.equal((await edge.runtime(['show info'])).match(/^Pid: (\d+)$/m)?.[1], worker, 'no reload');
  assert.ok(worker);
});

test('an invalid configuration is refused and the edge keeps serving the previous one', async () => {
  const live = await edge.current();
  const broken = cfg(baseRoutes).replace('balance roundrobin', 'balance sideways');
  await assert.rejects(edge.apply(broken, certs, new Map()), (e) => {
    assert.ok(isOdpError(e));
    assert.equal(e.code, 'ENGINE');
    assert.match(e.message, /refused the new configuration: parsing \[haproxy\.cfg:\d+\] : balance/);
    assert.match(e.detail ?? '', /\[ALERT\]/);
    return true;
  });
  // A certificate HAProxy cannot load is refused the same way.
  const badCerts = new Map(certs).set(B, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
  await assert.rejects(edge.apply(cfg(baseRoutes), badCerts, new Map()), /unable to load certificate/);
  assert.equal(await edge.current(), live);
  assert.equal((await getTls(A, '/')).body, backendA);
  assert.equal((await getTls(B, '/')).body, backendB);
  assert.equal(await edgeFile('.staging-count'), '0');
});

test('reload under load: 10 applies while requests flow, none fails', { timeout: 240_000 }, async () => {
  const tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 6, ca });
  const plainAgent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  sockets.clear();
  closeAnswers = 0;
  const stats = { requests: 0, failures: 0, byKind: {} as Record<string, number>, errors: [] as string[] };
  let stop = false;
  const deadline = Date.now() + 180_000;
  const maxRequests = 500_000;
  const fail = (what: string): void => {
    stats.failures++;
    if (stats.errors.length < 10) stats.errors.push(what);
  };
  const kinds: (() => Promise<void>)[] = [
    async () => {
      const r = await getTls(A, '/', { agent: tlsAgent });
      if (r.status !== 200 || r.body !== backendA) fail(`A: ${r.status} ${r.body.slice(0, 80)}`);
    },
    async () => {
      const r = await getTls(B, '/web', { agent: tlsAgent });
      if (r.status !== 200 || r.body !== backendB) fail(`B: ${r.status} ${r.body.slice(0, 80)}`);
    },
    async () => {
      const r = await get(A, '/web', plainAgent);
      if (r.status !== 301) fail(`http: ${r.status}`);
    },
  ];
  const worker = async (n: number): Promise<void> => {
    let i = n;
    while (!stop && Date.now() < deadline && stats.requests < maxRequests) {
      const k = i++ % kinds.length;
      stats.requests++;
      stats.byKind[k] = (stats.byKind[k] ?? 0) + 1;
      try {
        await kinds[k]!();
      } catch (e) {
        fail(`${['A', 'B', 'http'][k]}: ${(e as Error).message}`);
      }
    }
  };
  await edge.apply(cfg(baseRoutes), certs, new Map());
  await until(
    'backend B',
    () => getTls(B, '/'),
    (r) => r.body === backendB,
  );
  const load = Promise.all(Array.from({ length: 8 }, (_, n) => worker(n)));
  const reloads: { before: number; after: number }[] = [];
  try {
    await sleep(500);
    for (let i = 0; i < 10; i++) {
      // Each apply is a real change: the route to C comes and goes.
      const routes = i % 2 === 0 ? [...baseRoutes, { domain: C, servers: [backendA] }] : baseRoutes;
      const r = await edge.apply(cfg(routes), certs, new Map());
      reloads.push({ before: r.workerBefore, after: r.workerAfter });
      await sleep(300);
    }
    await sleep(500);
  } finally {
    stop = true;
    await load;
    tlsAgent.destroy();
    plainAgent.destroy();
  }
  const before = stats.requests;
  console.log(
    `reload under load: ${reloads.length} reloads, ${stats.requests} requests ` +
      `(A ${stats.byKind[0] ?? 0}, B ${stats.byKind[1] ?? 0}, http ${stats.byKind[2] ?? 0}), ` +
      `${stats.failures} failed${stats.errors.length ? `: ${stats.errors.join(' | ')}` : ''}`,
  );
  console.log(
    `connections: ${sockets.size} for 8 clients (${closeAnswers} answers from a replaced worker said "Connection: close")`,
  );
  console.log(`workers: ${reloads.map((r) => `${r.before}->${r.after}`).join(' ')}`);
  assert.equal(reloads.length, 10);
  for (const r of reloads) assert.notEqual(r.after, r.before, 'each reload started a new worker');
  assert.ok(before > 0);
  assert.equal(stats.failures, 0);
});

test('a restarted edge serves the last good configuration from its volume', async () => {
  const live = await edge.current();
  await docker.getContainer(edgeName).restart({ t: 5 });
  await readPorts();
  await until(
    'edge health after restart',
    () => get('edge', '/.odp/edge-health'),
    (r) => r.status === 200,
  );
  assert.equal(await edge.current(), live);
  await until(
    'backend A after restart',
    () => getTls(A, '/'),
    (r) => r.body === backendA,
  );
  assert.equal((await getTls(B, '/')).cn, B);
});

/** A file on the edge's volume (or the count of staged uploads left behind). */
async function edgeFile(rel: string): Promise<string> {
  const cmd = rel === '.staging-count' ? 'ls -A .staging | wc -l' : `cat ${rel}`;
  return (await execIn(edgeName, ['sh', '-c', `cd /usr/local/etc/haproxy && ${cmd}`])).out.trim();
}

/** The operational state of each server of `domain`'s backend, from the runtime API (2: up, 0: down). */
async function serverStates(domain: string): Promise<Record<string, number>> {
  const r = await execIn(edgeName, [
    'sh',
    '-c',
    `printf 'show servers state ${backendName(domain)}\\n' | socat -t 5 stdio unix-connect:${EDGE_SOCKET}`,
  ]);
  const states: Record<string, number> = {};
  for (const line of r.out.split('\n')) {
    const f = line.trim().split(/\s+/);
    // be_id be_name srv_id srv_name srv_addr srv_op_state …
    if (f[1] === backendName(domain) && f[3]) states[f[3]] = Number(f[5]);
  }
  return states;
}

/** `n` requests to C in a row; which server answered each (a request that hangs fails after 30 s: generous for a busy machine). */
async function answersFromC(n: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await Promise.race([
      getTls(C, '/'),
      sleep(30_000).then(() => ({ status: 0, body: 'no answer within 30 s' }) as Reply),
    ]);
    seen.push(r.status === 200 ? r.body : `${r.status} ${r.body}`);
  }
  return seen;
}

test(
  "a replica that stops answering leaves the rotation by the edge's own checks, and comes back",
  { timeout: 180_000 },
  async () => {
    await edge.apply(cfg([...baseRoutes, { domain: C, servers: [backendA, backendB] }]), certs);
    await until(
      'both replicas of C up',
      // Servers are slots (docs/decisions/0058): s1 holds backendA, s2 backendB.
      () => serverStates(C),
      (s) => s.s1 === 2 && s.s2 === 2,
    );
    await until(
      'C answered by both replicas',
      () => answersFromC(4),
      (seen) => seen.includes(backendA) && seen.includes(backendB),
    );

    for (const how of ['paused', 'killed'] as const) {
      const b = docker.getContainer(backendB);
      const t0 = Date.now();
      if (how === 'paused') await b.pause();
      else await b.kill();
      // Decided by HAProxy's HTTP checks alone: nothing tells the edge.
      await until(
        `${how} replica marked down`,
        () => serverStates(C),
        (s) => s.s2 === 0 && s.s1 === 2,
      );
      const outAfterMs = Date.now() - t0;
      console.log(`${how} replica out of the rotation after ${outAfterMs} ms (EDGE_CHECK bound 3000 ms)`);
      // Every new request goes to the replica left.
      assert.deepEqual(await answersFromC(10), Array<string>(10).fill(backendA));

      if (how === 'paused') await b.unpause();
      else await b.start();
      await until(
        `${how} replica back in the rotation`,
        () => answersFromC(4),
        (seen) => seen.includes(backendB),
        60_000,
      );
    }
  },
);
