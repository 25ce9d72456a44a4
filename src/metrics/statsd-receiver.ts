// The statsd receiver the stacks' STATSD_HOST/STATSD_PORT point at: UDP
// datagrams in (statsd.ts reads them), Prometheus' text format out on
// GET /metrics. prom-client keeps the histograms and writes the exposition
// (docs/decisions/0078). The number of series per metric is bounded: a sender
// that invents customers or methods cannot grow the receiver's memory without
// end; what is dropped is counted.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import { parseDatagram, type Sample } from './statsd.js';

/** Seconds: Odoo requests from a cached asset to a long report. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface ReceiverOptions {
  /** UDP port for statsd (0: any free one). */
  statsdPort: number;
  /** TCP port for /metrics (0: any free one). */
  httpPort: number;
  /** Address both bind to. */
  host?: string;
  /** Series kept per metric; beyond, samples of new label sets are dropped and counted. */
  maxSeries?: number;
}

export interface Receiver {
  statsdPort: number;
  httpPort: number;
  registry: Registry;
  close(): Promise<void>;
}

export async function startReceiver(o: ReceiverOptions): Promise<Receiver> {
  const registry = new Registry();
  const help = {
    odoo_http_request: 'Odoo HTTP requests (monitoring_statsd), by customer and environment',
    odoo_http_button: 'Odoo button calls (monitoring_statsd), by model and method',
    odoo_http_workflow: 'Odoo workflow signals (monitoring_statsd), by model and signal',
  } as const;
  const labelsOf = {
    odoo_http_request: ['customer', 'environment'],
    odoo_http_button: ['customer', 'environment', 'model', 'method'],
    odoo_http_workflow: ['customer', 'environment', 'model', 'signal'],
  } as const;
  const histograms = new Map(
    (Object.keys(help) as Sample['metric'][]).map((m) => [
      m,
      new Histogram({
        name: `${m}_seconds`,
        help: help[m],
        labelNames: [...labelsOf[m]],
        buckets: BUCKETS,
        registers: [registry],
      }),
    ]),
  );
  const received = new Counter({
    name: 'odp_statsd_lines_total',
    help: 'statsd lines received, by what became of them',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const maxSeries = o.maxSeries ?? 10_000;
  const series = new Map<string, Set<string>>();

  const take = (s: Sample): boolean => {
    const key = JSON.stringify(s.labels);
    let seen = series.get(s.metric);
    if (!seen) series.set(s.metric, (seen = new Set()));
    if (!seen.has(key)) {
      if (seen.size >= maxSeries) return false;
      seen.add(key);
    }
    histograms.get(s.metric)!.observe(s.labels, s.seconds);
    return true;
  };

  const udp: Socket = createSocket('udp4');
  udp.on('message', (msg) => {
    const p = parseDatagram(msg.toString('utf8'));
    let kept = 0;
    for (const s of p.samples) if (take(s)) kept++;
    if (kept) received.inc({ outcome: 'mapped' }, kept);
    if (p.samples.length - kept) received.inc({ outcome: 'dropped_series_limit' }, p.samples.length - kept);
    if (p.unmapped) received.inc({ outcome: 'unmapped' }, p.unmapped);
    if (p.malformed) received.inc({ outcome: 'malformed' }, p.malformed);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(o.statsdPort, o.host ?? '127.0.0.1', () => resolve());
  });

  const http: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.httpPort, o.host ?? '127.0.0.1', () => resolve());
  });

  return {
    statsdPort: udp.address().port,
    httpPort: (http.address() as AddressInfo).port,
    registry,
    close: async () => {
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
