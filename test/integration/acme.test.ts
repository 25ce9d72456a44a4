// Certificates against a real ACME server: Pebble on loopback, its mock DNS
// (pebble-challtestsrv) for names and DNS-01, and a small real HTTP server
// answering HTTP-01 the way the edge does. Rate limits, which Pebble does not
// have, come from a tiny fake ACME server that answers 429.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseRetryAfter } from '../../src/backends/acme/client.js';
import { ChallTestSrvDns } from '../../src/backends/acme/challtestsrv.js';
import {
  pickHostedZone,
  readTxtRecord,
  txtChangeBatch,
  unquoteTxt,
  zoneCandidates,
} from '../../src/backends/acme/route53.js';
import type { Http01Responder } from '../../src/backends/acme/types.js';
import { certStatus, ensureCertificates, type CertResult } from '../../src/ops/edge/certs.js';
import type { PlatformSpec } from '../../src/platform-spec/platform-schema.js';
import { CertStore } from '../../src/state/certs.js';
import { freePort, startPebble, type PebbleHandle } from '../helpers/pebble.js';

// Each test names its own platform directory; the state lives inside it.
delete process.env.ODP_STATE_DIR;

const DAY = 86_400_000;
const tmp = mkdtempSync(join(tmpdir(), 'odp-acme-'));
const platformDir = (name: string) => join(tmp, name);

function pems(chain: string): X509Certificate[] {
  return (chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (p) => new X509Certificate(p),
  );
}

/** The chain is leaf → intermediate(s), each signed by the next, the last by the root. */
function assertChainsTo(chain: string, rootPem: string, domain: string): X509Certificate {
  const certs = pems(chain);
  const root = new X509Certificate(rootPem);
  assert.ok(certs.length >= 2, 'a leaf and at least one intermediate');
  const leaf = certs[0]!;
  assert.equal(leaf.checkHost(domain), domain, `the leaf names ${domain}`);
  for (let i = 0; i < certs.length; i++) {
    const cert = certs[i]!;
    const issuer = certs[i + 1] ?? root;
    assert.ok(cert.checkIssued(issuer), `${cert.subject} is issued by ${issuer.subject}`);
    assert.ok(cert.verify(issuer.publicKey), `${cert.subject} is signed by ${issuer.subject}`);
  }
  assert.ok(root.verify(root.publicKey), 'the root is self-signed');
  return leaf;
}

const serialOf = (dir: string, domain: string) => {
  const s = CertStore.open(dir);
  try {
    const c = s.get(domain);
    return c && pems(c.certPem)[0]!.serialNumber;
  } finally {
    s.close();
  }
};

/** What the edge does for HTTP-01: serve tokens on its HTTP port; here it can also refuse a host. */
class TestResponder implements Http01Responder {
  readonly tokens = new Map<string, string>();
  readonly refuse = new Set<string>();
  sets = 0;
  requests = 0;
  readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => this.#answer(req, res));
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }

  async set(token: string, keyAuthorization: string): Promise<void> {
    this.sets++;
    this.tokens.set(token, keyAuthorization);
  }

  async remove(token: string): Promise<void> {
    this.tokens.delete(token);
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const token = /^\/\.well-known\/acme-challenge\/([\w-]+)$/.exec(req.url ?? '')?.[1];
    const answer = token && !this.refuse.has(host) ? this.tokens.get(token) : undefined;
    res.writeHead(answer ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(answer ?? 'no such challenge');
  }
}

/** A fake ACME server (plain HTTP) that rate-limits: newAccount or newOrder answers 429. */
async function rateLimitingAcme(o: { limit: 'newAccount' | 'newOrder'; retryAfter: string }) {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const nonce = Math.random().toString(36).slice(2);
    const json = (status: number, body: object, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'replay-nonce': nonce, ...headers });
      res.end(JSON.stringify(body));
    };
    const limited = () =>
      json(
        429,
        {
          type: 'urn:ietf:params:acme:error:rateLimited',
          detail: 'too many new orders recently',
          status: 429,
        },
        { 'content-type': 'application/problem+json', 'retry-after': o.retryAfter },
      );
    req.resume();
    req.on('end', () => {
      if (req.url === '/dir') {
        return json(200, {
          newNonce: `${base}/nonce`,
          newAccount: `${base}/acct`,
          newOrder: `${base}/order`,
        });
      }
      if (req.url === '/nonce') return json(200, {});
      if (req.url === '/acct') {
        if (o.limit === 'newAccount') return limited();
        return json(201, { status: 'valid' }, { location: `${base}/acct/1` });
      }
      if (req.url === '/order') return limited();
      json(404, { type: 'urn:ietf:params:acme:error:malformed', detail: 'no such resource' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    directoryUrl: `http://127.0.0.1:${port}/dir`,
    requests: () => requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const acmeSpec = (directory: string, more: Partial<PlatformSpec['acme']> = {}): PlatformSpec['acme'] => ({
  directory,
  email: 'ops@odp.test',
  challenge: 'http-01',
  renewBeforeDays: 30,
  verifyChallenges: false,
  ...more,
});

const only = (r: CertResult[]): CertResult => {
  assert.equal(r.length, 1);
  return r[0]!;
};

after(() => rmSync(tmp, { recursive: true, force: true }));

describe('pure parts', () => {
  test('Retry-After: delay-seconds and HTTP-date', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('120', now)?.toISOString(), '2030-01-01T00:02:00.000Z');
    assert.equal(parseRetryAfter(' 0 ', now)?.toISOString(), '2030-01-01T00:00:00.000Z');
    assert.equal(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)?.toISOString(),
      '2015-10-21T07:28:00.000Z',
    );
    assert.equal(
      parseRetryAfter('Wednesday, 21-Oct-15 07:28:00 GMT', now)?.toISOString(),
      '2015-10-21T07:28:00.000Z',
    );
    assert.equal(parseRetryAfter(['60'], now)?.toISOString(), '2030-01-01T00:01:00.000Z');
    for (const bad of [undefined, '', 'soon', '-5', '1.5', 'Mon, 99 Foo 2015']) {
      assert.equal(parseRetryAfter(bad, now), undefined, String(bad));
    }
  });

  test('Route53: TXT change batches (the AWS calls themselves need AWS)', () => {
    const name = '_acme-challenge.shop.example.ch';
    assert.deepEqual(txtChangeBatch(name, undefined, { add: 'abc' }, 60), {
      Comment: 'odp ACME DNS-01 challenge for _acme-challenge.shop.example.ch.',
      Changes: [
        {
          Action: 'UPSERT',
          ResourceRecordSet: {
            Name: '_acme-challenge.shop.example.ch.',
            Type: 'TXT',
            TTL: 60,
            ResourceRecords: [{ Value: '"abc"' }],
          },
        },
      ],
    });
    // A second value joins the first; UPSERT replaces the whole set.
    const two = txtChangeBatch(name, { values: ['abc'], ttl: 300 }, { add: 'def' }, 60)!;
    assert.equal(two.Changes![0]!.Action, 'UPSERT');
    assert.deepEqual(two.Changes![0]!.ResourceRecordSet!.ResourceRecords, [
      { Value: '"abc"' },
      { Value: '"def"' },
    ]);
    assert.equal(txtChangeBatch(name, { values: ['abc'], ttl: 60 }, { add: 'abc' }), undefined);
    // Removing one of two keeps the other, with the record's own TTL.
    const rest = txtChangeBatch(name, { values: ['abc', 'def'], ttl: 300 }, { remove: 'abc' })!;
    assert.equal(rest.Changes![0]!.Action, 'UPSERT');
    assert.equal(rest.Changes![0]!.ResourceRecordSet!.TTL, 300);
    assert.deepEqual(rest.Changes![0]!.ResourceRecordSet!.ResourceRecords, [{ Value: '"def"' }]);
    // Removing the last one deletes the set exactly as it stands.
    const del = txtChangeBatch(name, { values: ['def'], ttl: 300 }, { remove: 'def' })!;
    assert.equal(del.Changes![0]!.Action, 'DELETE');
    assert.deepEqual(del.Changes![0]!.ResourceRecordSet!.ResourceRecords, [{ Value: '"def"' }]);
    assert.equal(txtChangeBatch(name, undefined, { remove: 'def' }), undefined);
    assert.equal(txtChangeBatch(name, { values: ['x'], ttl: 60 }, { remove: 'def' }), undefined);

    assert.deepEqual(zoneCandidates('_acme-challenge.shop.example.ch'), [
      '_acme-challenge.shop.example.ch.',
      'shop.example.ch.',
      'example.ch.',
    ]);
    const zones = [
      { Id: '/hostedzone/A', Name: 'example.ch.', CallerReference: 'a' },
      { Id: '/hostedzone/B', Name: 'shop.example.ch.', CallerReference: 'b', Config: { PrivateZone: true } },
      { Id: '/hostedzone/C', Name: 'other.ch.', CallerReference: 'c' },
    ];
    assert.equal(pickHostedZone(zones, name)?.Id, '/hostedzone/A', 'the longest public zone');
    assert.equal(pickHostedZone(zones, '_acme-challenge.example.org'), undefined);

    assert.equal(unquoteTxt('"ab" "c\\"d"'), 'abc"d');
    assert.deepEqual(
      readTxtRecord(
        [
          {
            Name: '_acme-challenge.shop.example.ch.',
            Type: 'TXT',
            TTL: 120,
            ResourceRecords: [{ Value: '"abc"' }],
          },
        ],
        name,
      ),
      { values: ['abc'], ttl: 120 },
    );
    assert.equal(readTxtRecord([{ Name: 'zzz.example.ch.', Type: 'TXT' }], name), undefined);
  });
});

describe('against Pebble', () => {
  let pebble: PebbleHandle;
  const responder = new TestResponder();
  const dirA = platformDir('a');

  before(async () => {
    const httpPort = await freePort();
    await responder.listen(httpPort);
    pebble = await startPebble({ httpPort });
  });

  after(async () => {
    await pebble?.stop();
    await new Promise((r) => responder.server.close(r));
  });

  const ensure = (
    dir: string,
    domains: string[],
    more: Partial<Parameters<typeof ensureCertificates>[0]> = {},
  ) =>
    ensureCertificates({
      platformDir: dir,
      acme: acmeSpec(pebble.directoryUrl),
      domains,
      http01: responder,
      caCertificates: pebble.listenerCa,
      skipChallengeVerification: true,
      ...more,
    });

  test('issues over HTTP-01; the chain verifies against Pebble root', async (t) => {
    const events: string[] = [];
    const r = only(
      await ensure(dirA, ['shop.odp.test'], { onEvent: (e) => events.push(`${e.domain} ${e.phase}`) }),
    );
    assert.equal(r.action, 'issued', r.reason);
    assert.ok(r.notAfter && r.notAfter.getTime() > Date.now());
    assert.deepEqual(events, ['shop.odp.test requesting', 'shop.odp.test done']);
    assert.ok(responder.sets >= 1, 'the challenge went through the responder');
    assert.ok(responder.requests >= 1, 'Pebble fetched the challenge');

    const store = CertStore.open(dirA);
    t.after(() => store.close());
    const held = store.get('shop.odp.test')!;
    const leaf = assertChainsTo(held.certPem, pebble.root, 'shop.odp.test');
    assert.equal(held.notAfter.getTime(), new Date(leaf.validTo).getTime());
    assert.match(held.issuer, /Pebble/i);
    // The key pairs with the certificate, and never prints.
    assert.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(held.keyPem.reveal())));
    assert.doesNotMatch(JSON.stringify(held), /PRIVATE KEY/);
    assert.doesNotMatch(JSON.stringify(r), /PRIVATE KEY/);
    assert.equal(statSync(join(dirA, '.odp-state', 'state.sqlite')).mode & 0o777, 0o600);
    assert.equal(store.events('shop.odp.test')[0]?.outcome, 'issued');
    assert.ok(store.account(pebble.directoryUrl)?.url, 'the account is registered and kept');
  });

  test('keeps a valid certificate: no new order', async () => {
    const serial = serialOf(dirA, 'shop.odp.test');
    const key = (() => {
      const s = CertStore.open(dirA);
      try {
        return s.account(pebble.directoryUrl)!.keyPem;
      } finally {
        s.close();
      }
    })();
    const sets = responder.sets;
    for (const now of [undefined, new Date(Date.now() + 90 * DAY)]) {
      const r = only(await ensure(dirA, ['shop.odp.test'], now ? { now } : {}));
      assert.equal(r.action, 'kept');
    }
    assert.equal(serialOf(dirA, 'shop.odp.test'), serial, 'the same certificate');
    assert.equal(responder.sets, sets, 'no challenge: no order was placed');
    const s = CertStore.open(dirA);
    try {
      assert.ok(s.account(pebble.directoryUrl)!.keyPem.equals(key), 'one account, created once');
    } finally {
      s.close();
    }
  });

  test('renews when forced, and when fewer than renewBeforeDays remain', async () => {
    const first = serialOf(dirA, 'shop.odp.test');
    const forced = only(await ensure(dirA, ['shop.odp.test'], { force: true }));
    assert.equal(forced.action, 'renewed', forced.reason);
    const second = serialOf(dirA, 'shop.odp.test');
    assert.notEqual(second, first, 'a new certificate');

    const store = CertStore.open(dirA);
    const held = store.get('shop.odp.test')!;
    store.close();
    assertChainsTo(held.certPem, pebble.root, 'shop.odp.test');

    const near = only(
      await ensure(dirA, ['shop.odp.test'], { now: new Date(held.notAfter.getTime() - 10 * DAY) }),
    );
    assert.equal(near.action, 'renewed', near.reason);
    assert.match(near.reason ?? '', /expires in 10 day/);
    assert.notEqual(serialOf(dirA, 'shop.odp.test'), second);

    const status = certStatus(dirA);
    assert.equal(status.length, 1);
    assert.equal(status[0]!.domain, 'shop.odp.test');
    assert.ok((status[0]!.daysLeft ?? 0) > 30);
    assert.equal(status[0]!.last?.outcome, 'renewed');
  });

  test('a domain whose challenge fails is failed, and its certificate stays', async () => {
    const dir = platformDir('refused');
    const ok = only(await ensure(dir, ['legacy.odp.test']));
    assert.equal(ok.action, 'issued', ok.reason);
    const serial = serialOf(dir, 'legacy.odp.test');

    responder.refuse.add('legacy.odp.test');
    responder.refuse.add('never.odp.test');
    try {
      const [legacy, never] = await ensure(dir, ['legacy.odp.test', 'never.odp.test'], { force: true });
      assert.equal(legacy!.action, 'failed');
      assert.match(legacy!.reason ?? '', /legacy\.odp\.test/);
      assert.match(legacy!.reason ?? '', /http-01/);
      assert.match(legacy!.reason ?? '', /404|unauthorized|invalid/i, 'the ACME problem detail');
      assert.equal(
        legacy!.notAfter?.getTime(),
        ok.notAfter?.getTime(),
        'the held certificate is still the one in place',
      );
      assert.equal(serialOf(dir, 'legacy.odp.test'), serial, 'and still in the store');

      assert.equal(never!.action, 'failed');
      assert.match(never!.reason ?? '', /never\.odp\.test/);
      assert.equal(never!.notAfter, undefined);
      assert.equal(serialOf(dir, 'never.odp.test'), undefined);

      const store = CertStore.open(dir);
      try {
        const ev = store.events('legacy.odp.test')[0]!;
        assert.equal(ev.outcome, 'failed');
        assert.match(ev.detail ?? '', /legacy\.odp\.test/);
        assert.equal(ev.retryAfter, undefined);
      } finally {
        store.close();
      }
    } finally {
      responder.refuse.clear();
    }
  });

  test('DNS-01 through pebble-challtestsrv', async () => {
    const dir = platformDir('dns');
    const requests = responder.requests;
    const r = only(
      await ensure(dir, ['dns.odp.test'], {
        acme: acmeSpec(pebble.directoryUrl, { challenge: 'dns-01' }),
        dns01: new ChallTestSrvDns(pebble.challtestsrvUrl),
        http01: undefined,
      }),
    );
    assert.equal(r.action, 'issued', r.reason);
    assert.equal(responder.requests, requests, 'no HTTP-01 validation happened');
    const store = CertStore.open(dir);
    try {
      assertChainsTo(store.get('dns.odp.test')!.certPem, pebble.root, 'dns.odp.test');
    } finally {
      store.close();
    }
  });

  test('a recorded Retry-After defers without contacting the server', async () => {
    const fake = await rateLimitingAcme({ limit: 'newAccount', retryAfter: '60' });
    try {
      const dir = platformDir('recorded');
      const until = new Date(Date.now() + 3 * 3600_000);
      const s = CertStore.open(dir);
      s.recordEvent('wait.odp.test', 'failed', 'rate limited', until);
      s.close();
      const r = only(
        await ensureCertificates({
          platformDir: dir,
          acme: acmeSpec(fake.directoryUrl),
          domains: ['wait.odp.test'],
          http01: responder,
        }),
      );
      assert.equal(r.action, 'deferred');
      assert.equal(r.retryAfter?.toISOString(), until.toISOString());
      assert.equal(fake.requests(), 0, 'no request reached the server');
      // Once that time has passed, it asks again.
      const later = only(
        await ensureCertificates({
          platformDir: dir,
          acme: acmeSpec(fake.directoryUrl),
          domains: ['wait.odp.test'],
          http01: responder,
          now: new Date(until.getTime() + 1000),
        }),
      );
      assert.equal(later.action, 'failed');
      assert.ok(fake.requests() > 0);
    } finally {
      await fake.close();
    }
  });

  test('a 429 is honoured: its Retry-After (seconds) is recorded and the next pass defers', async () => {
    const fake = await rateLimitingAcme({ limit: 'newAccount', retryAfter: '3600' });
    try {
      const dir = platformDir('429s');
      const before = Date.now();
      const ensure429 = () =>
        ensureCertificates({
          platformDir: dir,
          acme: acmeSpec(fake.directoryUrl),
          domains: ['one.odp.test', 'two.odp.test'],
          http01: responder,
        });
      const [one, two] = await ensure429();
      assert.equal(one!.action, 'failed');
      assert.match(one!.reason ?? '', /rate-limited/);
      assert.match(one!.reason ?? '', /too many new orders recently/);
      const t = one!.retryAfter!.getTime();
      assert.ok(t >= before + 3600_000 && t <= Date.now() + 3600_000, 'an hour from the answer');
      // A limit on registering the account holds for every domain: nothing more is sent.
      assert.equal(two!.action, 'deferred');
      assert.equal(two!.retryAfter?.getTime(), t);
      const sent = fake.requests();
      const again = await ensure429();
      assert.deepEqual(
        again.map((r) => [r.action, r.retryAfter?.getTime()]),
        [
          ['deferred', t],
          ['deferred', t],
        ],
      );
      assert.equal(fake.requests(), sent, 'no request while the server asked to wait');
    } finally {
      await fake.close();
    }
  });

  test('a 429 on an order, with an HTTP-date Retry-After, holds for that domain only', async () => {
    const until = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2 * 3600_000);
    const fake = await rateLimitingAcme({ limit: 'newOrder', retryAfter: until.toUTCString() });
    try {
      const dir = platformDir('429date');
      const [r, next] = await ensureCertificates({
        platformDir: dir,
        acme: acmeSpec(fake.directoryUrl),
        domains: ['date.odp.test', 'next.odp.test'],
        http01: responder,
      });
      assert.equal(r!.action, 'failed');
      assert.equal(r!.retryAfter?.toISOString(), until.toISOString());
      assert.match(r!.reason ?? '', /rate-limited the request to accept the order/);
      // The other domain was still asked for (and limited in turn).
      assert.equal(next!.action, 'failed');
      assert.equal(next!.retryAfter?.toISOString(), until.toISOString());
      const s = CertStore.open(dir);
      try {
        assert.equal(s.retryAfter('date.odp.test')?.toISOString(), until.toISOString());
        assert.ok(s.account(fake.directoryUrl)?.url, 'the account registered before the limit is kept');
      } finally {
        s.close();
      }
    } finally {
      await fake.close();
    }
  });

  // Last: it stops Pebble, and starts a new one.
  test('the ACME server down: failed with a clear reason, the certificate kept', async () => {
    const serial = serialOf(dirA, 'shop.odp.test');
    await pebble.stopAcme();
    const [shop, other] = await ensure(dirA, ['shop.odp.test', 'other.odp.test'], { force: true });
    assert.equal(shop!.action, 'failed');
    assert.match(shop!.reason ?? '', /ACME server https:\/\/127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED/);
    assert.ok(shop!.notAfter, 'the current certificate is reported in place');
    assert.equal(serialOf(dirA, 'shop.odp.test'), serial, 'and kept in the store');
    assert.equal(other!.action, 'failed');
    assert.match(other!.reason ?? '', /unreachable/);
    const status = certStatus(dirA).find((c) => c.domain === 'shop.odp.test')!;
    assert.equal(status.last?.outcome, 'failed');
    assert.ok((status.daysLeft ?? 0) > 30);

    // Back (a fresh Pebble that forgot the account): the same key registers again.
    const store = CertStore.open(dirA);
    const before = store.account(pebble.directoryUrl)!;
    store.close();
    await pebble.startAcme();
    const back = only(await ensure(dirA, ['shop.odp.test'], { force: true }));
    assert.equal(back.action, 'renewed', back.reason);
    const s = CertStore.open(dirA);
    try {
      assertChainsTo(s.get('shop.odp.test')!.certPem, pebble.root, 'shop.odp.test');
      const account = s.account(pebble.directoryUrl)!;
      assert.ok(account.keyPem.equals(before.keyPem), 'the same account key');
      assert.notEqual(account.url, before.url, 'registered again');
    } finally {
      s.close();
    }
  });
});
