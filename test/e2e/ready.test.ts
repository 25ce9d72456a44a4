// Engine.waitReady on the real engine (docs/decisions/0050): odp decides that a unit
// is ready by probing it itself while it waits, not by the engine's health status,
// which now comes every 60 s. The units here get a health check far slower still
// (300 s), so the engine's status cannot be what made a wait succeed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { buildImages } from '../../src/images/build.js';
import { isOdpError } from '../../src/errors.js';
import { docker, images, engine, removeLabelled } from './helpers.js';

const run = `ready${randomBytes(3).toString('hex')}`;
const labels = { 'odp.test': 'ready-e2e', 'odp.test.run': run };
const network = `${run}-net`;
const slowCheck = { Interval: 300e9, Timeout: 5e9, Retries: 3, StartPeriod: 300e9 };

/** nginx that answers /web/health only once /tmp/ready exists (made by the test). */
const nginxConf = `events {}
http {
  access_log off;
  server {
    listen 80;
    location = /web/health {
      if (!-f /tmp/ready) { return 503; }
      return 200 'ok';
    }
  }
}`;

async function start(name: string, body: Parameters<typeof docker.createContainer>[0]): Promise<void> {
  const c = await docker.createContainer({ ...body, name, Labels: labels });
  await c.start();
}

before(async () => {
  await buildImages({ images, only: ['nginx', 'redis'] });
  await docker.createNetwork({ Name: network, Driver: 'bridge', Labels: labels, CheckDuplicate: true });
});
after(() => removeLabelled(`odp.test.run=${run}`));

test('an HTTP unit is ready once it answers, long before the engine checks it', async () => {
  const unit = `${run}-web`;
  await start(unit, {
    Image: 'odp/nginx:1.22',
    Env: [`NGINX_CONF=${nginxConf}`],
    Healthcheck: { Test: ['CMD', 'true'], ...slowCheck },
    HostConfig: { NetworkMode: network },
  });
  const probe = { http: { path: '/web/health', port: 80 }, timeoutSeconds: 5 };
  let ready = false;
  const waiting = engine.waitReady(unit, probe, { timeoutMs: 120_000 }).then(() => (ready = true));
  // Once it answers 503 the probe has been failing: nothing can have made it ready.
  const status = `exec 3<>/dev/tcp/127.0.0.1/80 && printf 'GET /web/health HTTP/1.0\\r\\n\\r\\n' >&3 && read -r s <&3 && echo "$s"`;
  const deadline = Date.now() + 60_000;
  let seen = '';
  while (!/ 503 /.test(seen) && Date.now() < deadline) {
    seen = (await engine.exec(unit, ['bash', '-c', status])).stdout;
  }
  assert.match(seen, / 503 /);
  assert.equal(ready, false);
  await engine.exec(unit, ['touch', '/tmp/ready']);
  await waiting;
  const health = (await docker.getContainer(unit).inspect()).State.Health?.Status;
  assert.equal(health, 'starting', 'the engine has not checked it: the probe decided');
});

test('a command probe runs inside the unit: redis answers PONG', async () => {
  const unit = `${run}-redis`;
  await start(unit, {
    Image: 'odp/redis:7',
    Cmd: ['redis-server', '--save', '', '--appendonly', 'no'],
    Healthcheck: { Test: ['CMD', 'redis-cli', 'ping'], ...slowCheck },
    HostConfig: { NetworkMode: network },
  });
  await engine.waitReady(unit, { command: ['redis-cli', 'ping'], timeoutSeconds: 5 }, { timeoutMs: 120_000 });
  assert.equal((await engine.exec(unit, ['redis-cli', 'ping'])).stdout.trim(), 'PONG');
});

test('a unit that exits fails the wait at once, with its last logs; a deadline is kept', async () => {
  const unit = `${run}-dies`;
  await start(unit, {
    Image: 'odp/redis:7',
    Cmd: ['sh', '-c', 'echo "cannot start: no config" >&2; sleep 2; exit 3'],
    Healthcheck: { Test: ['CMD', 'true'], ...slowCheck },
    HostConfig: { NetworkMode: network },
  });
  await assert.rejects(
    engine.waitReady(unit, { command: ['redis-cli', 'ping'], timeoutSeconds: 5 }, { timeoutMs: 120_000 }),
    (e: unknown) =>
      isOdpError(e) &&
      /exited before it became healthy \(exit code 3\)/.test(e.message) &&
      /cannot start: no config/.test(e.detail ?? ''),
  );

  const never = `${run}-never`;
  await start(never, {
    Image: 'odp/nginx:1.22',
    Env: [`NGINX_CONF=${nginxConf}`],
    Healthcheck: { Test: ['CMD', 'true'], ...slowCheck },
    HostConfig: { NetworkMode: network },
  });
  await assert.rejects(
    engine.waitReady(
      never,
      { http: { path: '/web/health', port: 80 }, timeoutSeconds: 5 },
      { timeoutMs: 3000 },
    ),
    (e: unknown) => isOdpError(e) && /did not become healthy within 3s/.test(e.message),
  );
});

test("checkNow runs the unit's own check once: passes, fails, or there is none", async () => {
  const unit = `${run}-checknow`;
  await start(unit, {
    Image: 'odp/redis:7',
    Cmd: ['redis-server', '--save', '', '--appendonly', 'no'],
    // CMD-SHELL, as a hand-written compose file has it: passes once /tmp/ok exists.
    Healthcheck: { Test: ['CMD-SHELL', 'test -f /tmp/ok && redis-cli ping'], ...slowCheck },
    HostConfig: { NetworkMode: network },
  });
  assert.equal(await engine.checkNow(unit), false);
  await engine.exec(unit, ['touch', '/tmp/ok']);
  assert.equal(await engine.checkNow(unit), true);
  const health = (await docker.getContainer(unit).inspect()).State.Health?.Status;
  assert.equal(health, 'starting', "odp's check is not the engine's: its status is unchanged");

  const bare = `${run}-nocheck`;
  await start(bare, {
    Image: 'odp/redis:7',
    Healthcheck: { Test: ['NONE'] },
    HostConfig: { NetworkMode: network },
  });
  assert.equal(await engine.checkNow(bare), undefined);
  assert.equal(await engine.checkNow(`${run}-gone`), undefined);
});
