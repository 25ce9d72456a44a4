// The edge's configuration: its structure (what each frontend and backend does),
// the image's built-in configuration being the rendered empty one, and the real
// `haproxy -c` accepting what we render (with a release directory laid out as on
// the edge: default.pem, certs/<domain>.pem, acme.map) and refusing what it must.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isOdpError } from '../../src/errors.js';
import {
  EDGE_CHECK,
  EDGE_FILES,
  MAINTENANCE_RETRY_AFTER,
  maintenanceMap,
  backendName,
  edgeEvictionBoundMs,
  renderHaproxyCfg,
  type HaproxyCfgInput,
} from '../../src/render/haproxy-cfg.js';

const input: HaproxyCfgInput = {
  routes: [
    { domain: 'b.example.test', servers: ['bb-odoo-prod-odoo-1'] },
    { domain: 'a.example.test', servers: ['aa-odoo-prod-odoo-1', 'aa-odoo-prod-odoo-2'] },
    { domain: 'm.example.test', servers: ['mm-odoo-prod-odoo-1'], maintenance: true },
  ],
  certificates: ['a.example.test', 'm.example.test'],
};
const cfg = renderHaproxyCfg(input);

/** Sections by their header line (`frontend https`), each with its indented lines, trimmed. */
function sections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '' || raw.trim().startsWith('#')) continue;
    if (!/^\s/.test(raw)) {
      current = [];
      out.set(raw.trim(), current);
    } else current?.push(raw.trim());
  }
  return out;
}
const s = sections(cfg);
const section = (name: string): string[] => {
  const lines = s.get(name);
  assert.ok(lines, `section "${name}" in:\n${cfg}`);
  return lines;
};
const index = (lines: string[], re: RegExp): number => lines.findIndex((l) => re.test(l));

describe('renderHaproxyCfg: structure', () => {
  it('globals: master-worker, the admin runtime socket that hands listeners over, logs on stdout', () => {
    const g = section('global');
    assert.ok(g.includes('master-worker'));
    assert.ok(g.includes('stats socket /var/run/haproxy.sock mode 600 level admin expose-fd listeners'));
    assert.ok(g.some((l) => /^log stdout /.test(l)));
    assert.ok(g.some((l) => l.startsWith('server-state-file ')));
    const d = section('defaults');
    assert.ok(d.includes('option idle-close-on-response'), 'reloads close no idle keep-alive connection');
    assert.ok(d.includes('load-server-state-from-file global'));
    assert.ok(d.some((l) => l.startsWith("log-format '{")));
  });

  it("resolves instances through Docker's DNS", () => {
    const r = section('resolvers docker');
    assert.ok(r.includes('nameserver docker 127.0.0.11:53'));
  });

  it('http: health, ACME from the map, 404 for unknown tokens, 301 to https for the rest', () => {
    const h = section('frontend http');
    assert.ok(h.includes('bind :80'));
    assert.ok(h.includes('monitor-uri /.odp/edge-health'));
    const acme = index(h, /set-var\(txn\.acme\) path,field\(4,\/\),map\(acme\.map\)/);
    const answer = index(
      h,
      /^http-request return status 200 content-type text\/plain lf-string .*var\(txn\.acme\)/,
    );
    const unknown = index(
      h,
      /^http-request return status 404 .* if \{ path_beg \/\.well-known\/acme-challenge\/ \}/,
    );
    const redirect = index(
      h,
      /^http-request redirect location https:\/\/%\[var\(txn\.host\)\]%\[pathq\] code 301$/,
    );
    assert.ok(acme >= 0 && answer > acme && unknown > answer && redirect > unknown, h.join('\n'));
    assert.equal(EDGE_FILES.acmeMap, 'acme.map');
  });

  it('https: certificates by SNI with a default, host routing, database manager refused everywhere', () => {
    const h = section('frontend https');
    assert.ok(h.includes('bind :443 ssl crt default.pem crt certs/ alpn h2,http/1.1'));
    assert.ok(h.includes('http-request set-var(txn.host) hdr(host),lower,regsub(:[0-9]+$,)'));
    const deny = index(
      h,
      /^http-request deny deny_status 403 if \{ path,url_dec -m reg \^\/\+web\/\+database \}$/,
    );
    const firstRoute = index(h, /^use_backend /);
    assert.ok(deny >= 0 && deny < firstRoute, 'refused before any routing');
    assert.ok(h.includes('http-request set-header X-Forwarded-Proto https'));
    assert.ok(h.includes('option forwardfor'));
    assert.ok(
      h.some((l) => /^http-after-response set-header Strict-Transport-Security "max-age=\d+/.test(l)),
    );
    assert.deepEqual(
      h.filter((l) => l.startsWith('use_backend ')),
      [
        'use_backend site_a.example.test if { var(txn.host) -m str a.example.test }',
        'use_backend site_b.example.test if { var(txn.host) -m str b.example.test }',
        'use_backend site_m.example.test if { var(txn.host) -m str m.example.test }',
      ],
    );
    assert.ok(h.includes('default_backend unknown_host'));
    assert.ok(section('backend unknown_host').some((l) => /^http-request return status 404 /.test(l)));
  });

  it('one backend per domain: round robin, health on /web/health, server slots by unit name', () => {
    const a = section(`backend ${backendName('a.example.test')}`);
    assert.ok(a.includes('balance roundrobin'));
    assert.ok(a.includes('option httpchk'));
    assert.ok(a.includes('http-check send meth GET uri /web/health ver HTTP/1.1 hdr Host a.example.test'));
    const servers = a.filter((l) => l.startsWith('server '));
    assert.equal(servers.length, 2);
    for (const [i, line] of servers.entries()) {
      const name = `aa-odoo-prod-odoo-${i + 1}`;
      assert.match(line, new RegExp(`^server s${i + 1} ${name}:80 check `));
      assert.match(line, / resolvers docker /);
      assert.match(line, / init-addr last,none$/);
      // The edge's own HTTP checks decide routing: a dead replica is out within 3 s.
      assert.match(line, / check inter 750ms fastinter 250ms downinter 2000ms fall 2 rise 2 /);
    }
    assert.ok(a.includes('timeout check 1000ms'));
    assert.ok(edgeEvictionBoundMs() <= 3000, `${edgeEvictionBoundMs()} ms`);
    // The bound follows the parameters (it can fail): the former inter 2 s, fall 3 exceed 3 s.
    assert.equal(edgeEvictionBoundMs({ ...EDGE_CHECK, interMs: 2000, fall: 3, timeoutMs: 0 }), 8500);
    assert.ok(s.has(`backend ${backendName('b.example.test')}`));
  });

  it('a site in maintenance (the maintenance map) answers 503 with Retry-After and a page, before any route', () => {
    const h = section('frontend https');
    const line = h.find((l) => l.startsWith('http-request return status 503 '));
    assert.ok(line);
    assert.match(line, new RegExp(`hdr Retry-After ${MAINTENANCE_RETRY_AFTER} `));
    assert.match(line, /content-type "text\/html; charset=utf-8"/);
    assert.match(
      line,
      /lf-string "<!doctype html>.*%\[var\(txn\.host\)\] is being updated.*" if \{ var\(txn\.host\),map\(maintenance\.map\) -m found \}$/,
    );
    // Entering and leaving maintenance changes the map, not the configuration: the
    // backend stays routed and checked behind the answer.
    assert.ok(s.has(`backend ${backendName('m.example.test')}`));
    const at = h.indexOf(line);
    assert.ok(h.findIndex((l) => l.includes('use_backend site_m.example.test')) > at);
    assert.equal(maintenanceMap(input.routes), 'm.example.test 1\n');
  });

  it('is deterministic: the order of routes does not matter', () => {
    const reversed = renderHaproxyCfg({ ...input, routes: [...input.routes].reverse() });
    assert.equal(reversed, cfg);
  });

  it('refuses what is not a domain or a container name (nothing reaches the file unchecked)', () => {
    const bad: HaproxyCfgInput[] = [
      { routes: [{ domain: 'a.example.test }\n  bogus', servers: [] }], certificates: [] },
      { routes: [{ domain: 'Upper.Example.test', servers: [] }], certificates: [] },
      { routes: [{ domain: 'a.example.test', servers: ['x y'] }], certificates: [] },
      {
        routes: [
          { domain: 'a.example.test', servers: [] },
          { domain: 'a.example.test', servers: [] },
        ],
        certificates: [],
      },
      { routes: [], certificates: ['../etc/passwd'] },
    ];
    for (const b of bad)
      assert.throws(
        () => renderHaproxyCfg(b),
        (e) => isOdpError(e) && e.code === 'INTERNAL',
      );
  });

  it("is the image's built-in configuration when there are no routes", () => {
    const builtin = readFileSync(join(import.meta.dirname, '../../images/haproxy/haproxy.cfg'), 'utf8');
    assert.equal(
      builtin,
      renderHaproxyCfg({ routes: [], certificates: [] }),
      "regenerate it: node --import tsx -e \"import('./src/render/haproxy-cfg.ts').then((m) => " +
        'process.stdout.write(m.renderHaproxyCfg({ routes: [], certificates: [] })))" > images/haproxy/haproxy.cfg',
    );
  });
});

// ---- the real binary ----

const have = (cmd: string): boolean => spawnSync(cmd, ['version'], { stdio: 'ignore' }).error === undefined;
const missing = !have('haproxy')
  ? 'haproxy is not installed'
  : !have('openssl')
    ? 'openssl is not installed'
    : false;
const work = mkdtempSync(join(tmpdir(), 'odp-haproxy-cfg-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A throwaway self-signed certificate + key for `cn`, as one PEM (what certs/<domain>.pem holds). */
function selfSigned(cn: string): string {
  const key = join(work, `${cn}.key`);
  const crt = join(work, `${cn}.crt`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      key,
      '-out',
      crt,
    ],
    { stdio: 'ignore' },
  );
  return readFileSync(crt, 'utf8') + readFileSync(key, 'utf8');
}

/** A release directory as on the edge, checked as the edge checks it (`haproxy -c -C dir`). */
function haproxyCheck(text: string, certs: Map<string, string>, acme = ''): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(work, 'release-'));
  mkdirSync(join(dir, EDGE_FILES.certs));
  writeFileSync(join(dir, EDGE_FILES.cfg), text);
  writeFileSync(join(dir, EDGE_FILES.acmeMap), acme);
  writeFileSync(join(dir, EDGE_FILES.maintenanceMap), maintenanceMap(input.routes));
  writeFileSync(join(dir, EDGE_FILES.defaultCert), defaultPem);
  for (const [domain, pem] of certs) writeFileSync(join(dir, EDGE_FILES.certs, `${domain}.pem`), pem);
  const r = spawnSync('haproxy', ['-c', '-C', dir, '-f', join(dir, EDGE_FILES.cfg)], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

let defaultPem = '';
const certs = new Map<string, string>();

describe('renderHaproxyCfg: haproxy -c', { skip: missing }, () => {
  it('accepts the rendered configuration with its certificates and challenges', () => {
    defaultPem = selfSigned('odp-edge-default');
    for (const d of input.certificates) certs.set(d, selfSigned(d));
    const r = haproxyCheck(cfg, certs, 'tok-1 tok-1.thumbprint\n');
    assert.ok(r.ok, r.output);
    assert.match(r.output, /Configuration file is valid/);
  });

  it('accepts the built-in configuration (no routes, no certificates)', () => {
    const r = haproxyCheck(renderHaproxyCfg({ routes: [], certificates: [] }), new Map());
    assert.ok(r.ok, r.output);
  });

  it('refuses a certificate file that is not a certificate', () => {
    const broken = new Map(certs).set(
      'b.example.test',
      '-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n',
    );
    const r = haproxyCheck(cfg, broken);
    assert.equal(r.ok, false);
    assert.match(r.output, /unable to load certificate from file 'certs\/b\.example\.test\.pem'/);
  });

  it('refuses a broken configuration (the check can fail)', () => {
    const r = haproxyCheck(cfg.replace('balance roundrobin', 'balance sideways'), certs);
    assert.equal(r.ok, false);
    assert.match(r.output, /\[ALERT\].*balance/);
  });

  it('refuses a configuration whose challenge map is missing', () => {
    const dir = mkdtempSync(join(work, 'nomap-'));
    mkdirSync(join(dir, EDGE_FILES.certs));
    writeFileSync(join(dir, EDGE_FILES.cfg), cfg);
    writeFileSync(join(dir, EDGE_FILES.maintenanceMap), '');
    writeFileSync(join(dir, EDGE_FILES.defaultCert), defaultPem);
    const r = spawnSync('haproxy', ['-c', '-C', dir, '-f', join(dir, EDGE_FILES.cfg)], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(`${r.stdout}${r.stderr}`, /acme\.map/);
  });
});
