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
import { mapTimer, readLine, type Sample } from './statsd.js';

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
  /**
   * The socket's receive buffer in bytes (default 4 MiB): what absorbs a burst
   * while the event loop is busy. The kernel caps it at net.core.rmem_max.
   */
  recvBufferSize?: number;
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
  // Counted in plain numbers on the hot path, handed to the counter at each scrape.
  const counts = { mapped: 0, unmapped: 0, malformed: 0, dropped_series_limit: 0 };
  const added = { ...counts };
  new Counter({
    name: 'odp_statsd_lines_total',
    help: 'statsd lines received, by what became of them',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      for (const k of Object.keys(counts) as (keyof typeof counts)[]) {
        this.inc({ outcome: k }, counts[k] - added[k]);
        added[k] = counts[k];
      }
    },
  });
  const maxSeries = o.maxSeries ?? 10_000;
  const seriesOf = new Map<Sample['metric'], number>();
  // A name stands for one label set (statsd.ts): each known name keeps the
  // histogram child it observes into, so a datagram costs one lookup, not a
  // parse of its name and a hash of its labels. `null`: not one of Odoo's.
  const byName = new Map<string, ReturnType<Histogram['labels']> | null>();
  const MAX_NAMES = maxSeries * 3 + 10_000;

  const child = (name: string) => {
    const known = byName.get(name);
    if (known !== undefined) return known;
    const s = mapTimer(name, 0);
    if (!s) {
      if (byName.size < MAX_NAMES) byName.set(name, null);
      return null;
    }
    const n = seriesOf.get(s.metric) ?? 0;
    if (n >= maxSeries) return undefined; // over the limit: not kept, counted as dropped
    seriesOf.set(s.metric, n + 1);
    const c = histograms.get(s.metric)!.labels(s.labels);
    byName.set(name, c);
    return c;
  };

  const udp: Socket = createSocket({ type: 'udp4', recvBufferSize: o.recvBufferSize ?? 4 * 1024 * 1024 });
  udp.on('message', (msg) => {
    const text = msg.toString('utf8');
    // Almost every datagram is one line (monitoring_statsd sends one timer per request).
    for (const part of text.includes('\n') ? text.split('\n') : [text]) {
      const line = readLine(part);
      if (line === 'blank') continue;
      if (!line) counts.malformed++;
      else if (!line.timer || !Number.isFinite(line.value) || line.value < 0) counts.unmapped++;
      else {
        const c = child(line.name);
        if (c) {
          c.observe(line.value / 1000);
          counts.mapped++;
        } else if (c === null) counts.unmapped++;
        else counts.dropped_series_limit++;
      }
    }
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
