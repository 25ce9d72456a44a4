// Odoo's statsd timers read as labelled Prometheus histograms: the names
// camptocamp's monitoring_statsd sends, sent over real UDP on loopback to the
// receiver and read back from its /metrics.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { mapTimer, parseDatagram } from '../../src/metrics/statsd.js';
import { startReceiver, type Receiver } from '../../src/metrics/statsd-receiver.js';

describe('statsd names', () => {
  test("Odoo's three timers, with their labels, in seconds", () => {
    assert.deepEqual(mapTimer('odoo.http.request.acme.prod', 250), {
      metric: 'odoo_http_request',
      labels: { customer: 'acme', environment: 'prod' },
      seconds: 0.25,
    });
    assert.deepEqual(mapTimer('odoo.http.button.acme.integration.sale_order.action_confirm', 1200), {
      metric: 'odoo_http_button',
      labels: { customer: 'acme', environment: 'integration', model: 'sale_order', method: 'action_confirm' },
      seconds: 1.2,
    });
    assert.deepEqual(mapTimer('odoo.http.workflow.acme.prod.account_invoice.invoice_open', 5)?.labels, {
      customer: 'acme',
      environment: 'prod',
      model: 'account_invoice',
      signal: 'invoice_open',
    });
  });

  test('anything else is no series: other names, wrong part counts, odd characters, bad numbers', () => {
    for (const name of [
      'odoo.http.request.acme',
      'odoo.http.request.acme.prod.extra',
      'odoo.http.button.acme.prod.sale_order',
      'odoo.db.request.acme.prod',
      'other.http.request.acme.prod',
      'odoo.http.request.ac"me.prod',
      `odoo.http.request.${'a'.repeat(101)}.prod`,
    ])
      assert.equal(mapTimer(name, 10), undefined, name);
    assert.equal(mapTimer('odoo.http.request.acme.prod', -1), undefined);
    assert.equal(mapTimer('odoo.http.request.acme.prod', Number.NaN), undefined);
  });

  test('a datagram: several lines, sample rates and tags read, garbage counted, never thrown', () => {
    const p = parseDatagram(
      [
        'odoo.http.request.acme.prod:12|ms',
        'odoo.http.request.acme.prod:30|ms|@0.5',
        'odoo.http.request.acme.prod:7|ms|#host:a',
        'odoo.workers:3|g',
        '',
        'no colon at all',
        'odoo.x:abc|ms',
        '\u0000\uffff',
      ].join('\n'),
    );
    assert.deepEqual(
      p.samples.map((s) => s.seconds),
      [0.012, 0.03, 0.007],
    );
    assert.equal(p.unmapped, 1);
    assert.equal(p.malformed, 3);
  });
});

describe('the receiver', () => {
  let r: Receiver;
  before(async () => {
    r = await startReceiver({ statsdPort: 0, httpPort: 0, maxSeries: 3 });
  });
  after(async () => {
    await r.close();
  });

  const send = async (text: string) => {
    const sock = createSocket('udp4');
    await new Promise<void>((res, rej) =>
      sock.send(text, r.statsdPort, '127.0.0.1', (e) => (e ? rej(e) : res())),
    );
    sock.close();
  };

  /** /metrics, polled until `want` is in it (UDP gives no acknowledgement). */
  const scrapeUntil = async (want: RegExp): Promise<string> => {
    // Generous: a busy machine may take a while to hand a datagram to the receiver.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${r.httpPort}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      if (want.test(text) || Date.now() > deadline) return text;
      await new Promise((res) => setTimeout(res, 50));
    }
  };

  test('timers become histograms by customer and environment; the exposition is Prometheus text', async () => {
    await send('odoo.http.request.acme.prod:120|ms\nodoo.http.request.acme.prod:2500|ms');
    const text = await scrapeUntil(/odoo_http_request_seconds_count\{customer="acme",environment="prod"\} 2/);
    assert.match(text, /# TYPE odoo_http_request_seconds histogram/);
    assert.match(text, /odoo_http_request_seconds_bucket\{le="0.25",customer="acme",environment="prod"\} 1/);
    assert.match(text, /odoo_http_request_seconds_sum\{customer="acme",environment="prod"\} 2.62/);
    assert.match(text, /odp_statsd_lines_total\{outcome="mapped"\} 2/);
    assert.equal((await fetch(`http://127.0.0.1:${r.httpPort}/other`)).status, 404);
  });

  test('a sender inventing label values is bounded: new series past the limit are dropped and counted', async () => {
    const lines = Array.from({ length: 6 }, (_, i) => `odoo.http.request.c${i}.prod:1|ms`);
    await send(lines.join('\n'));
    await send('garbage\nodoo.gauge:1|g');
    const text = await scrapeUntil(/outcome="malformed"\} 1/);
    const kept = text.match(/^odoo_http_request_seconds_count\{/gm) ?? [];
    assert.equal(kept.length, 3, text);
    assert.match(text, /odp_statsd_lines_total\{outcome="dropped_series_limit"\} 4/);
    assert.match(text, /odp_statsd_lines_total\{outcome="unmapped"\} 1/);
    // A known series still counts once the limit is reached.
    await send('odoo.http.request.acme.prod:1|ms');
    await scrapeUntil(/odoo_http_request_seconds_count\{customer="acme",environment="prod"\} 3/);
  });
});
