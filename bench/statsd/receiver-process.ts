// One receiver of the statsd benchmark in a process of its own, as in
// production: `odp` (odp's receiver, src/metrics/statsd-receiver.ts) or `bare`
// (a UDP socket that only counts datagrams: the cost of Node's receive path
// alone, the peer). Prints its ports as one JSON line; GET /count answers the
// datagrams it counted, GET /metrics (odp) the exposition.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startReceiver } from '../../src/metrics/statsd-receiver.js';

const kind = process.argv[2];
const recvBufferSize = 8 * 1024 * 1024;

if (kind === 'odp') {
  const r = await startReceiver({ statsdPort: 0, httpPort: 0, recvBufferSize });
  process.stdout.write(`${JSON.stringify({ statsd: r.statsdPort, http: r.httpPort })}\n`);
} else {
  let count = 0;
  const udp = createSocket({ type: 'udp4', recvBufferSize });
  udp.on('message', () => count++);
  await new Promise<void>((res) => udp.bind(0, '127.0.0.1', () => res()));
  const http = createServer((_req, res) => res.end(String(count)));
  await new Promise<void>((res) => http.listen(0, '127.0.0.1', () => res()));
  process.stdout.write(
    `${JSON.stringify({ statsd: udp.address().port, http: (http.address() as AddressInfo).port })}\n`,
  );
}
