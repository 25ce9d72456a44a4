// The sidecar's configuration is checked by the real nginx binary, and its
// routes are exercised by a real nginx in front of two small local backends.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { renderNginxConf } from '../../src/render/nginx-conf.js';

const dir = mkdtempSync(join(tmpdir(), 'odp-nginx-'));

function nginxTest(conf: string): { ok: boolean; output: string } {
  const file = join(dir, `nginx-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, conf);
  try {
    // stdout is a file, as in a container (a FIFO there): nginx reopens /dev/stdout
    // for its access log, which fails on the socket pair node would give it.
    const stdout = openSync(join(dir, 'stdout.log'), 'a');
    execFileSync('nginx', ['-t', '-c', file], { encoding: 'utf8', stdio: ['ignore', stdout, 'pipe'] });
    return { ok: true, output: '' };
  } catch (e) {
    return { ok: false, output: String((e as { stderr?: string }).stderr ?? e) };
  }
}

test('nginx -t accepts the rendered configuration', () => {
  const r = nginxTest(renderNginxConf({ odooHost: '127.0.0.1' }));
  assert.ok(r.ok, r.output);
});

test('nginx -t accepts the Swarm flavour: Odoo by name, looked up per request', () => {
  const conf = renderNginxConf({ odooHost: '${NGX_ODOO_HOST}', resolver: '127.0.0.11' });
  // The image's entrypoint puts the owner's name in; before that nginx refuses the variable.
  assert.equal(nginxTest(conf).ok, false);
  const r = nginxTest(conf.replaceAll('${NGX_ODOO_HOST}', 'acme-odoo-test-odoo-1'));
  assert.ok(r.ok, r.output);
});

test('nginx -t refuses a broken one (the check can fail)', () => {
  const r = nginxTest(
    renderNginxConf({ odooHost: '127.0.0.1' }).replace('server_tokens off;', 'server_tokens off'),
  );
  assert.equal(r.ok, false);
  assert.match(r.output, /emerg/);
});

describe_routes();

function describe_routes(): void {
  const seen: string[] = [];
  let odoo: Server;
  let gevent: Server;
  let nginx: ReturnType<typeof spawn>;
  let port = 0;
  const listen = (s: Server) =>
    new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));

  before(async () => {
    odoo = createServer((req, res) => {
      seen.push(`8069 ${req.url} proto=${req.headers['x-forwarded-proto']}`);
      res.end('odoo');
    });
    gevent = createServer((req, res) => {
      seen.push(`8072 ${req.url} upgrade=${req.headers.upgrade ?? ''}`);
      res.end('gevent');
    });
    const [httpPort, longpollingPort] = [await listen(odoo), await listen(gevent)];
    port = 20000 + Math.floor(Math.random() * 20000);
    const file = join(dir, 'live.conf');
    writeFileSync(
      file,
      renderNginxConf({ odooHost: '127.0.0.1', httpPort, longpollingPort, listenPort: port }),
    );
    nginx = spawn('nginx', ['-c', file, '-g', 'daemon off;'], {
      stdio: ['ignore', openSync(join(dir, 'access.log'), 'a'), 'ignore'],
    });
    for (let i = 0; i < 50; i++) {
      if ((await get('/').catch(() => 0)) !== 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(() => {
    nginx.kill('SIGTERM');
    odoo.close();
    gevent.close();
  });

  function get(path: string, headers: Record<string, string> = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('routes: / to 8069, /websocket and /longpolling to 8072 with the upgrade, /web/database refused', async () => {
    seen.length = 0;
    assert.equal(await get('/web/login'), 200);
    assert.equal(await get('/websocket', { Upgrade: 'websocket', Connection: 'Upgrade' }), 200);
    assert.equal(await get('/longpolling/poll'), 200);
    assert.equal(await get('/web/database/manager'), 403);
    assert.equal(await get('/web/database/drop'), 403);
    assert.equal(await get('/web/login', { 'X-Forwarded-Proto': 'https' }), 200);
    assert.deepEqual(seen, [
      '8069 /web/login proto=http',
      '8072 /websocket upgrade=websocket',
      '8072 /longpolling/poll upgrade=',
      '8069 /web/login proto=https',
    ]);
  });
}
