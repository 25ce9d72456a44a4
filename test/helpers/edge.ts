// The edge in tests: a test platform's platform.yaml given the embedded S3
// server and the edge on free loopback ports (so that test files running at
// once never collide, and a port is never taken by another machine's service),
// and requests through the edge as a browser makes them: HTTPS to loopback
// with the instance's domain as SNI and Host.
import { readFile, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import path from 'node:path';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { parse, stringify } from 'yaml';
import { freePort, type PebbleHandle } from './pebble.js';

type Data = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface EdgePorts {
  /** The edge's plain HTTP port (ACME HTTP-01 challenges, redirects to HTTPS). */
  httpPort: number;
  httpsPort: number;
  /** The embedded S3 server's port: its endpoint is http://127.0.0.1:<s3Port>. */
  s3Port: number;
}

/**
 * Edits `<dir>/platform.yaml`: the embedded S3 server on a free loopback port,
 * the edge (on host app1) bound to loopback on free HTTP and HTTPS ports
 * (`httpPort` when the caller chose it already: Pebble must know it first).
 * With `acme`, certificates come from that Pebble; `change` edits the data
 * further. Returns the ports.
 */
export async function withEdgeAndStorage(
  tp: { dir: string },
  o: { httpPort?: number; acme?: PebbleHandle; change?: (p: Data) => void } = {},
): Promise<EdgePorts> {
  const ports: EdgePorts = {
    httpPort: o.httpPort ?? (await freePort()),
    httpsPort: await freePort(),
    s3Port: await freePort(),
  };
  const file = path.join(tp.dir, 'platform.yaml');
  const p = parse(await readFile(file, 'utf8')) as Data;
  p.services.storage = { endpoint: `http://127.0.0.1:${ports.s3Port}`, region: 'us-east-1', embedded: true };
  p.services.edge = {
    hosts: ['app1'],
    bind: '127.0.0.1',
    httpPort: ports.httpPort,
    httpsPort: ports.httpsPort,
  };
  if (o.acme) {
    await writeFile(path.join(tp.dir, 'pebble-listener.pem'), o.acme.listenerCa);
    p.acme = {
      directory: o.acme.directoryUrl,
      email: 'ops@odp.test',
      challenge: 'http-01',
      caFile: 'pebble-listener.pem',
      verifyChallenges: false,
    };
  }
  o.change?.(p);
  await writeFile(file, stringify(p));
  return ports;
}

export interface EdgeReply {
  /** 0 when the request failed (refused, reset, timed out): `body` then says why, `code` how. */
  status: number;
  code?: string;
  body: string;
  headers: IncomingHttpHeaders;
  /** The certificate the edge presented, its chain through `issuerCertificate`. */
  cert?: DetailedPeerCertificate;
}

export interface EdgeRequest {
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  /** The Host header, when it must differ from the SNI `domain`. */
  host?: string;
  /** Verify the edge's certificate against this CA; without it, not verified. */
  ca?: string;
  checkServerIdentity?: https.RequestOptions['checkServerIdentity'];
  /** Default: a fresh connection for each request. */
  agent?: https.Agent;
  /** Told each socket the request goes out on (counting connections). */
  onSocket?: (s: Socket) => void;
  /** Silence on the socket after which the request fails (default 10 s). */
  timeoutMs?: number;
}

/** A request to the edge on 127.0.0.1:`port` for `domain` (SNI and Host); never rejects. */
export function viaEdge(
  port: number,
  domain: string,
  pathname: string,
  o: EdgeRequest = {},
): Promise<EdgeReply> {
  return new Promise((resolve) => {
    const failed = (e: NodeJS.ErrnoException) =>
      resolve({ status: 0, body: e.message, headers: {}, code: e.code ?? e.message });
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: pathname,
        method: o.method ?? 'GET',
        servername: domain,
        headers: { Host: o.host ?? domain, ...o.headers },
        ...(o.ca ? { ca: o.ca } : { rejectUnauthorized: false }),
        ...(o.checkServerIdentity ? { checkServerIdentity: o.checkServerIdentity } : {}),
        timeout: o.timeoutMs ?? 10_000,
        agent: o.agent ?? false,
      },
      (res) => {
        // Read now: once the body has ended, a kept-alive socket goes back to its pool.
        const cert = (res.socket as TLSSocket).getPeerCertificate(true);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            headers: res.headers,
            cert,
          }),
        );
        res.on('error', failed);
      },
    );
    if (o.onSocket) req.on('socket', o.onSocket);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', failed);
    req.end(o.body);
  });
}
