// `odp serve`: the platform's long-running process. For now it exposes
// /healthz and runs the scheduled work (certificate renewal); webhooks come
// next. Logs are JSON lines on stdout.
import { createServer, type Server } from 'node:http';
import type { EdgeControl } from '../ops/edge-sync.js';
import { loadPlatformDir } from '../platformdir/load.js';
import { Scheduler } from './scheduler.js';

export interface ServeOptions {
  dir: string;
  host: string;
  port: number;
  edge: EdgeControl;
  renewEveryMs: number;
}

export function log(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), ...line })}\n`);
}

export async function serve(o: ServeOptions): Promise<{ server: Server; scheduler: Scheduler; url: string }> {
  await loadPlatformDir(o.dir); // a broken spec stops the server before it listens
  const scheduler = new Scheduler(
    [
      {
        name: 'certificate-renewal',
        everyMs: o.renewEveryMs,
        // Reads the spec afresh each time: a project added since start gets its certificate.
        run: async () => {
          const pd = await loadPlatformDir(o.dir);
          if (!(await o.edge.running(pd))) return 'edge not running: nothing to renew through';
          const results = await o.edge.certify(pd);
          const counts = results.reduce<Record<string, number>>(
            (m, r) => ({ ...m, [r.action]: (m[r.action] ?? 0) + 1 }),
            {},
          );
          return (
            Object.entries(counts)
              .map(([k, v]) => `${v} ${k}`)
              .join(', ') || 'no domains'
          );
        },
      },
    ],
    log,
  );
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', jobs: scheduler.status() }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, resolve);
  });
  scheduler.start();
  const addr = server.address() as { port: number };
  return { server, scheduler, url: `http://${o.host}:${addr.port}` };
}
