// Benchmark: odp's statsd receiver (src/metrics/statsd-receiver.ts) under the
// packets Odoo's monitoring_statsd sends (one timer per datagram), at a fixed
// rate on loopback, against the peer: a bare Node UDP socket that only counts
// datagrams (Node's receive path without parsing or histograms). Each receiver
// runs in a process of its own; the sender paces its datagrams every 10 ms.
// Printed per receiver: datagrams sent, received as the receiver counts them,
// lost, the kernel's UDP receive-buffer drops over the run, and the receiver's
// resident memory before and after; then odp's share of the peer's count.
//
//   npm run bench:statsd
//   STATSD_RATE=80000 STATSD_SECONDS=20 npm run bench:statsd
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const rate = Number(process.env.STATSD_RATE ?? 50_000);
const seconds = Number(process.env.STATSD_SECONDS ?? 10);
const here = fileURLToPath(new URL('.', import.meta.url));

interface Started {
  child: ChildProcess;
  statsd: number;
  http: number;
}

async function start(kind: 'odp' | 'bare'): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', `${here}statsd/receiver-process.ts`, kind], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`${kind} receiver exited ${code}`)));
  });
  return { child, ...(JSON.parse(line) as { statsd: number; http: number }) };
}

/** Kernel UDP counters (/proc/net/snmp): datagrams dropped for a full receive buffer. */
function udpDrops(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
  return Number(values![names!.indexOf('RcvbufErrors')] ?? 0);
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Sends `rate` datagrams a second for `seconds`, in 10 ms batches; the count sent. */
async function send(port: number): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((res) => sock.connect(port, '127.0.0.1', () => res()));
  const perTick = rate / 100;
  const t0 = performance.now();
  let sent = 0;
  for (let tick = 0; tick < seconds * 100; tick++) {
    // Catch up to where the clock says we should be: a late tick sends more.
    const due = Math.round((tick + 1) * perTick);
    while (sent < due) {
      const customer = `c${sent % 50}`;
      const env = sent % 3 === 0 ? 'integration' : 'prod';
      sock.send(`odoo.http.request.${customer}.${env}:${(sent % 900) + 5}|ms`);
      sent++;
    }
    const wait = t0 + (tick + 1) * 10 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (tick % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 200));
  sock.close();
  return sent;
}

async function received(kind: 'odp' | 'bare', http: number): Promise<number> {
  if (kind === 'bare') return Number(await (await fetch(`http://127.0.0.1:${http}/count`)).text());
  const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
  // Every datagram is one line, and every line is counted under some outcome.
  return [...text.matchAll(/^odp_statsd_lines_total\{[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
}

async function measure(kind: 'odp' | 'bare') {
  const r = await start(kind);
  try {
    const rssBefore = rssMiB(r.child.pid!);
    const drops = udpDrops();
    const t0 = performance.now();
    const sent = await send(r.statsd);
    const elapsed = (performance.now() - t0) / 1000;
    // Let the receiver drain its buffer before counting.
    let got = await received(kind, r.http);
    for (let i = 0; i < 20; i++) {
      await new Promise((res) => setTimeout(res, 250));
      const again = await received(kind, r.http);
      if (again === got) break;
      got = again;
    }
    return {
      kind,
      sent,
      rate: Math.round(sent / elapsed),
      got,
      lost: sent - got,
      kernelDrops: udpDrops() - drops,
      rssBefore,
      rssAfter: rssMiB(r.child.pid!),
    };
  } finally {
    r.child.kill('SIGTERM');
  }
}

console.log(
  `statsd receiver: ${rate} datagrams/s for ${seconds} s on loopback; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`,
);
const rows = [await measure('bare'), await measure('odp')];
console.log('receiver  sent        rate/s   received    lost     kernel drops  RSS before → after (MiB)');
for (const x of rows) {
  console.log(
    `${x.kind.padEnd(9)} ${String(x.sent).padEnd(11)} ${String(x.rate).padEnd(8)} ${String(x.got).padEnd(11)} ${String(x.lost).padEnd(8)} ${String(x.kernelDrops).padEnd(13)} ${x.rssBefore.toFixed(1)} → ${x.rssAfter.toFixed(1)}`,
  );
}
const [bare, odp] = rows;
console.log(
  `odp received ${((odp!.got / odp!.sent) * 100).toFixed(3)}% of what it was sent; the bare socket ${((bare!.got / bare!.sent) * 100).toFixed(3)}% (ratio odp/bare ${(odp!.got / Math.max(1, bare!.got)).toFixed(3)})`,
);
