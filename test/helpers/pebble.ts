// Pebble (Let's Encrypt's test ACME server) and pebble-challtestsrv (its mock
// DNS server) on loopback, for one test file. Every port is picked free, so two
// test runs on one machine do not collide. Pebble resolves every name through
// challtestsrv, which answers 127.0.0.1 for all of them; for HTTP-01 it connects
// to <domain>:httpPort, the port the test's responder (in the platform: the
// edge's HTTP port) listens on.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PebbleOptions {
  /** Where Pebble connects for HTTP-01 challenges. */
  httpPort: number;
  /**
   * PEBBLE_VA_ALWAYS_VALID: every challenge passes unchecked. Only for tests
   * that are not about challenges.
   */
  alwaysValid?: boolean;
  /** Bound on each process's start. */
  startTimeoutMs?: number;
}

export interface PebbleHandle {
  directoryUrl: string;
  /** pebble-challtestsrv's management API (set-txt, clear-txt…). */
  challtestsrvUrl: string;
  /** Pebble's management interface (roots, cert-status-by-serial…). */
  managementUrl: string;
  /** The CA of Pebble's own HTTPS listeners: pass it as caCertificates. */
  listenerCa: string;
  /** The root that signs what Pebble issues (new at every Pebble start). */
  root: string;
  /** Stops Pebble only (challtestsrv keeps running): "the ACME server is down". */
  stopAcme(): Promise<void>;
  /** Starts Pebble again on the same ports: a new root, no memory of accounts or orders. */
  startAcme(): Promise<void>;
  stop(): Promise<void>;
  /** Both processes' output so far, for failure messages. */
  logs(): string;
}

export function ensurePebble(): void {
  const have = (cmd: string) => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (have('pebble') && have('pebble-challtestsrv')) return;
  if (process.getuid?.() !== 0)
    throw new Error('pebble is not installed: apt-get install -y pebble (as root)');
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'pebble'], {
    stdio: 'ignore',
    timeout: 300_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** A port free on 127.0.0.1 for TCP (and, with udp, for UDP too). */
export async function freePort(udp = false): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    if (!udp) return port;
    const ok = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port pair on 127.0.0.1');
}

export function httpsGet(
  url: string,
  ca: string,
  timeoutMs = 5000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ca, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function until(
  what: string,
  deadlineMs: number,
  probe: () => Promise<boolean>,
  alive: () => string | undefined,
) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const dead = alive();
    if (dead) throw new Error(`${what}: ${dead}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

export async function startPebble(o: PebbleOptions): Promise<PebbleHandle> {
  ensurePebble();
  const dir = mkdtempSync(join(tmpdir(), 'odp-pebble-'));
  const startTimeout = o.startTimeoutMs ?? 30_000;

  // The listener's certificate: self-signed for 127.0.0.1, trusted by the tests alone.
  const cert = join(dir, 'listener.pem');
  const key = join(dir, 'listener.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '7',
      '-subj',
      '/CN=pebble listener',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  const listenerCa = readFileSync(cert, 'utf8');

  const acmePort = await freePort();
  const mgmtPort = await freePort();
  const dnsPort = await freePort(true);
  const challPort = await freePort();
  const tlsPort = await freePort();
  const config = join(dir, 'pebble.json');
  writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: cert,
        privateKey: key,
        httpPort: o.httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );

  const logFile = join(dir, 'processes.log');
  const out = openSync(logFile, 'a');
  const logs = () => readFileSync(logFile, 'utf8');
  const exited = (name: string, p: ChildProcess) => () =>
    p.exitCode !== null || p.signalCode !== null
      ? `${name} exited (${p.exitCode ?? p.signalCode}):\n${logs().slice(-2000)}`
      : undefined;

  const chall = spawn(
    'pebble-challtestsrv',
    [
      '-http01',
      '',
      '-https01',
      '',
      '-tlsalpn01',
      '',
      '-dns01',
      `127.0.0.1:${dnsPort}`,
      '-defaultIPv6',
      '',
      '-defaultIPv4',
      '127.0.0.1',
      '-management',
      `127.0.0.1:${challPort}`,
    ],
    { stdio: ['ignore', out, out] },
  );
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const managementUrl = `https://127.0.0.1:${mgmtPort}`;
  let pebble: ChildProcess | undefined;

  /** Starts Pebble (again: with a new root, and no memory of accounts or orders); returns its root. */
  const runPebble = async (): Promise<string> => {
    const p = spawn('pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dnsPort}`], {
      stdio: ['ignore', out, out],
      env: {
        ...process.env,
        PEBBLE_VA_NOSLEEP: '1',
        // A new order always brings new authorizations: a challenge test must face its challenge.
        PEBBLE_AUTHZREUSE: '0',
        ...(o.alwaysValid ? { PEBBLE_VA_ALWAYS_VALID: '1' } : {}),
      },
    });
    pebble = p;
    await until(
      'pebble',
      startTimeout,
      async () => (await httpsGet(directoryUrl, listenerCa)).status === 200,
      exited('pebble', p),
    );
    const root = await httpsGet(`${managementUrl}/roots/0`, listenerCa);
    if (root.status !== 200 || !root.body.includes('BEGIN CERTIFICATE')) {
      throw new Error(`pebble's root CA: HTTP ${root.status}`);
    }
    return root.body;
  };

  try {
    await until(
      'pebble-challtestsrv',
      startTimeout,
      () => tcpOpen(challPort),
      exited('pebble-challtestsrv', chall),
    );
    const handle: PebbleHandle = {
      directoryUrl,
      managementUrl,
      challtestsrvUrl: `http://127.0.0.1:${challPort}`,
      listenerCa,
      root: await runPebble(),
      stopAcme: async () => {
        if (pebble) await stopProcess(pebble);
      },
      startAcme: async () => {
        if (pebble) await stopProcess(pebble);
        handle.root = await runPebble();
      },
      stop: async () => {
        await Promise.all([pebble ? stopProcess(pebble) : undefined, stopProcess(chall)]);
        closeSync(out);
        rmSync(dir, { recursive: true, force: true });
      },
      logs,
    };
    return handle;
  } catch (e) {
    await Promise.all([pebble ? stopProcess(pebble) : undefined, stopProcess(chall)]);
    closeSync(out);
    throw e;
  }
}
