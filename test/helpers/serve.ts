// `odp serve` in tests: the real CLI process spawned on a free port (`--port
// 0`, its URL read from its `listening` line) and stopped by a signal; requests
// to it over node:http and GitHub deliveries signed with this test file's
// secret; for the webhook tests, the example platform whose project names its
// repository, and its queue read back from the state database.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { Secret } from '../../src/secret.js';
import { writeSecrets } from '../../src/secrets/store.js';
import { openState } from '../../src/state/db.js';
import { deliveryCount, listJobs, type Job } from '../../src/state/jobs.js';
import { PUBLISH_SIGNATURE_HEADER, signBody, signDelivery } from '../../src/webhooks/sign.js';
import { copyExamplePlatform } from './specs.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The example platform's secrets are encrypted with the demo passphrase. */
const PASSPHRASE = 'odp-demo';
/** This test file's webhook secret. */
export const SECRET = randomBytes(24).toString('hex');
const tmp: string[] = [];

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** Its stdout so far (one JSON object a line). */
  log: () => string;
}

/** `odp --dir DIR serve --port 0 ARGS` as its own process; resolves once it listens. */
export function startServe(
  dir: string,
  o: { env?: Record<string, string | undefined>; args?: string[] } = {},
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'src/cli/run.ts'),
      '--dir',
      dir,
      'serve',
      '--port',
      '0',
      ...(o.args ?? []),
    ],
    { cwd: repoRoot, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"event":"listening","url":"([^"]+)"/.exec(out);
      if (m) resolve({ url: m[1]!, child, log: () => out });
    });
    child.on('exit', (code) => reject(new Error(`odp serve exited (${code}): ${err}${out}`)));
  });
}

/** Sends `signal` and waits for the process to exit (at once if it has). */
export function stopServe(s: ServeProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    s.child.once('exit', () => resolve());
    s.child.kill(signal);
  });
}

export interface Reply {
  status: number;
  body: string;
  json: () => Record<string, unknown>;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Written in 64 KiB pieces. */
  chunked?: boolean;
}

export function request(url: string, o: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: o.method ?? 'GET', headers: o.headers, agent, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          resolve({
            status: res.statusCode ?? 0,
            body,
            json: () => JSON.parse(body) as Record<string, unknown>,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    // A server that answers 413 before the whole body is sent may close while we still write.
    req.on('error', (e) => (req.writableFinished ? reject(e) : undefined));
    if (o.chunked && o.body) {
      const b = Buffer.from(o.body);
      for (let i = 0; i < b.length; i += 64 * 1024) req.write(b.subarray(i, i + 64 * 1024));
      req.end();
    } else req.end(o.body);
  });
}

/** A GitHub delivery of `event` to `<url>/hooks/github`, signed with SECRET unless told otherwise. */
export function github(
  url: string,
  event: string,
  body: string | Buffer,
  o: { secret?: string; delivery?: string; signature?: string } = {},
): Promise<Reply> {
  return request(`${url}/hooks/github`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': o.delivery ?? randomUUID(),
      'x-hub-signature-256': o.signature ?? signBody(o.secret ?? SECRET, body),
    },
  });
}

/** The headers of a publish notice as `odp publish` sends them: id and time signed with the body. */
export function publishHeaders(
  body: string | Buffer,
  o: { secret?: string; delivery?: string; atMs?: number } = {},
): Record<string, string> {
  const id = o.delivery ?? randomUUID();
  return {
    'content-type': 'application/json',
    'x-odp-delivery': id,
    [PUBLISH_SIGNATURE_HEADER]: signDelivery(o.secret ?? SECRET, body, { id, atMs: o.atMs ?? Date.now() }),
  };
}

// ---- the webhook tests' platform ----

export const repository = {
  full_name: 'acme/neomedical-odoo',
  html_url: 'https://github.com/acme/neomedical-odoo',
};
export const sha = () => randomBytes(20).toString('hex');
export const pushBody = (ref: string, after: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ ref, after, deleted: false, repository, ...extra });

/**
 * The example platform whose project names `repository` and a private image
 * that is never built (a push waits for it). This process's operations, and
 * the servers it starts, keep their state beside it (<dir>/.odp-state): two
 * platforms never share a queue.
 */
export function webhookPlatform(): string {
  delete process.env.ODP_STATE_DIR;
  process.env.ODP_PASSPHRASE = PASSPHRASE;
  const root = mkdtempSync(join(tmpdir(), 'odp-webhooks-'));
  tmp.push(root);
  const dir = join(root, 'platform');
  copyExamplePlatform(dir, { withSecrets: true });
  const file = join(dir, 'projects', 'neomedical.yaml');
  const d = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  d.repository = 'github.com/acme/neomedical-odoo';
  d.image = `odp-it/${randomBytes(4).toString('hex')}_odoo`;
  writeFileSync(file, stringify(d));
  return dir;
}

/** A webhook platform whose secret is in platform.env.gpg, as in production, and its server. */
export async function startWebhookServer(
  args: string[] = [],
): Promise<{ dir: string; server: ServeProcess }> {
  const dir = webhookPlatform();
  await writeSecrets(
    join(dir, 'platform.env.gpg'),
    new Map([['WEBHOOK_SECRET', new Secret(SECRET)]]),
    PASSPHRASE,
  );
  const server = await startServe(dir, {
    env: { ODP_WEBHOOK_SECRET: undefined },
    args: ['--retry-every', '1', ...args],
  });
  return { dir, server };
}

function withState<T>(dir: string, f: (db: ReturnType<typeof openState>) => T): T {
  const db = openState(dir);
  try {
    return f(db);
  } finally {
    db.close();
  }
}

export const jobsOf = (dir: string): Job[] => withState(dir, (db) => listJobs(db, { limit: 1000 }));
export const deliveries = (dir: string): number => withState(dir, (db) => deliveryCount(db));

/** For `after`: the pooled connections and the platforms made here. */
export function cleanUpServe(): void {
  agent.destroy();
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
}
