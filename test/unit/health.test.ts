// Health checks that cost little at rest (docs/decisions/0050): steady checks every
// 60 s, a start interval only for engines that take one, and the probe each check
// runs: one bash process, checked here with the real bash against a real server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { composePlatform } from '../../src/compose/platform.js';
import { composeStack } from '../../src/compose/stack.js';
import { containerSpec, featuresOf } from '../../src/engines/docker/container-spec.js';
import { desiredUnits, planStack } from '../../src/plan/plan.js';
import { httpProbe } from '../../src/render/probe.js';
import { Secret } from '../../src/secret.js';
import { input, project } from '../helpers/specs.js';

const secrets = new Map([
  ['DB_PASSWORD', new Secret('pw')],
  ['ADMIN_PASSWD', new Secret('admin')],
  ['AWS_ACCESS_KEY_ID', new Secret('a')],
  ['AWS_SECRET_ACCESS_KEY', new Secret('b')],
]);
const stack = composeStack(input().platform, project().spec, 'test', secrets).stack;

describe('health checks at rest', () => {
  test('every service of an instance and of the platform is checked every 60 s, not every second', () => {
    const shared = composePlatform(input().platform, new Map()).stack;
    for (const s of [...stack.services, ...shared.services]) {
      assert.equal(s.health?.intervalSeconds, 60, s.name);
      assert.equal(s.health?.retries, 2, s.name);
      assert.equal(s.health?.startIntervalSeconds, 1, s.name);
      // A first start on a busy machine (initdb, Odoo's setup) stays within it.
      assert.ok((s.health?.startPeriodSeconds ?? 0) >= 120, s.name);
    }
  });

  test('the start interval goes to engines from API 1.44 (Docker 25) only', () => {
    assert.deepEqual(featuresOf('1.41'), { startInterval: false }); // Debian's 20.10
    assert.deepEqual(featuresOf('1.43'), { startInterval: false });
    assert.deepEqual(featuresOf('1.44'), { startInterval: true });
    assert.deepEqual(featuresOf('1.51'), { startInterval: true });
    assert.deepEqual(featuresOf('2.0'), { startInterval: true });
    const db = desiredUnits(stack, {}).find((u) => u.service.name === 'db')!;
    const old = containerSpec(db, featuresOf('1.41')).Healthcheck as Record<string, unknown>;
    const recent = containerSpec(db, featuresOf('1.44')).Healthcheck as Record<string, unknown>;
    assert.equal(old.Interval, 60e9);
    assert.equal('StartInterval' in old, false);
    assert.equal(recent.StartInterval, 1e9);
  });

  test("a deploy waits on each unit with its service's probe", () => {
    const plan = planStack({
      stack,
      imageIds: {},
      observed: { units: [], networks: [], volumes: [] },
      freshOnChange: true,
    });
    const probes = Object.fromEntries(
      plan.steps.flatMap((s) =>
        s.kind === 'wait-healthy' ? [[s.unit.replace(/^.*-odoo-test-/, ''), s.probe]] : [],
      ),
    );
    assert.deepEqual(probes['odoo-1'], { http: { path: '/web/health', port: 8069 }, timeoutSeconds: 10 });
    assert.deepEqual(probes['nginx-1'], { http: { path: '/web/health', port: 80 }, timeoutSeconds: 10 });
    assert.deepEqual(probes['db-1'], { command: ['pg_isready', '-U', 'odoo'], timeoutSeconds: 10 });
    assert.deepEqual(probes['redis-1'], { command: ['redis-cli', 'ping'], timeoutSeconds: 10 });
  });
});

describe('the HTTP probe, run by bash', () => {
  let server: http.Server;
  let port = 0;
  before(async () => {
    server = http.createServer((req, res) => {
      res.writeHead(req.url === '/web/health' ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(req.url === '/web/health' ? 'ok' : 'HTTP/1.0 200 OK in a body is not a status');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const run = (path: string, p: number): Promise<number | null> =>
    new Promise((resolve, reject) => {
      const [, bash, flag, script] = httpProbe(path, p);
      const child = spawn(bash!, [flag!, script!], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('close', resolve);
    });

  test('passes on 200, fails on another status or nothing listening', async () => {
    assert.equal(await run('/web/health', port), 0);
    assert.notEqual(await run('/down', port), 0);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const free = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    assert.notEqual(await run('/web/health', free), 0);
  });

  test('starts no process but bash: builtins only', () => {
    const script = httpProbe('/web/health', 8069)[3]!;
    assert.doesNotMatch(script, /\|/);
    assert.doesNotMatch(script, /\b(head|grep|curl|wget)\b/);
  });
});
