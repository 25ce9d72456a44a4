// The HTTP side of `odp serve`. Webhooks: a body is read up to a limit, its
// signature checked against the raw bytes before anything parses it, its
// delivery id recorded with the work it caused in one transaction (a replay
// is answered `duplicate` and does nothing). Nothing a client sends reaches
// an exception: malformed input is a 4xx, and an unexpected failure a 500
// that leaves the server serving. Secrets and bodies are never logged.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { loadPlatformDir, type PlatformDir } from '../platformdir/load.js';
import type { Secret } from '../secret.js';
import type { StateDb } from '../state/db.js';
import { deployableVersions, jobStates, listJobs, type JobState } from '../state/jobs.js';
import { verifySignature } from '../webhooks/sign.js';
import { githubDelivery } from './github-hook.js';
import { publishNotice } from './publish-hook.js';
import type { Log } from './worker.js';

export interface HookContext {
  dir: string;
  db: StateDb;
  /** Undefined: webhooks are not configured and answer 503. */
  secret: Secret | undefined;
  mainBranch: string;
  /** How long a deploy waits for its commit's image before it fails. */
  imageWaitMs: number;
  bodyLimit: number;
  log: Log;
  /** A job was queued: the worker looks now rather than at its next poll. */
  wake: () => void;
  health: () => Record<string, unknown>;
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** A verified delivery, ready to act on. */
export interface Delivery {
  source: 'github' | 'odp';
  id: string;
  event: string;
  body: Buffer;
}

const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const PROJECT_VERSIONS = /^\/api\/projects\/([a-z][a-z0-9-]{0,38}[a-z0-9])\/versions$/;

export function router(ctx: HookContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(ctx, req)
      .then((r) => send(res, r))
      .catch((e: unknown) => {
        ctx.log({
          event: 'http-error',
          path: pathOf(req),
          detail: e instanceof Error ? e.message : String(e),
        });
        send(res, { status: 500, body: { error: 'internal error' } });
      });
  };
}

async function route(ctx: HookContext, req: IncomingMessage): Promise<Reply> {
  const path = pathOf(req);
  const get = (f: () => Reply | Promise<Reply>) => (req.method === 'GET' ? f() : notAllowed('GET'));
  if (path === '/healthz') return get(() => ({ status: 200, body: { status: 'ok', ...ctx.health() } }));
  if (path === '/api/jobs') return get(() => jobsReply(ctx, req));
  const versions = path === undefined ? null : PROJECT_VERSIONS.exec(path);
  if (versions) return get(() => versionsReply(ctx, versions[1]!));
  if (path === '/hooks/github' || path === '/hooks/publish') {
    if (req.method !== 'POST') return notAllowed('POST');
    const body = await readBody(req, ctx.bodyLimit);
    if (body === 'too-large')
      return { status: 413, body: { error: `the body is over ${ctx.bodyLimit} bytes` } };
    return path === '/hooks/github' ? github(ctx, req, body) : publish(ctx, req, body);
  }
  return { status: 404, body: { error: 'not found' } };
}

async function github(ctx: HookContext, req: IncomingMessage, body: Buffer): Promise<Reply> {
  const d = await verified(ctx, req, body, {
    source: 'github',
    signature: 'x-hub-signature-256',
    delivery: 'x-github-delivery',
    event: 'x-github-event',
  });
  return 'status' in d ? d : githubDelivery(ctx, d, () => platform(ctx));
}

async function publish(ctx: HookContext, req: IncomingMessage, body: Buffer): Promise<Reply> {
  const d = await verified(ctx, req, body, {
    source: 'odp',
    signature: 'x-odp-signature-256',
    delivery: 'x-odp-delivery',
  });
  return 'status' in d ? d : publishNotice(ctx, d, () => platform(ctx));
}

/** The signature first: an unsigned request learns nothing, not even whether its headers were right. */
async function verified(
  ctx: HookContext,
  req: IncomingMessage,
  body: Buffer,
  h: { source: Delivery['source']; signature: string; delivery: string; event?: string },
): Promise<Delivery | Reply> {
  if (!ctx.secret) {
    return { status: 503, body: { error: 'webhooks are not configured on this server (no webhook secret)' } };
  }
  if (!verifySignature(ctx.secret, body, req.headers[h.signature])) {
    ctx.log({ event: 'webhook-refused', path: pathOf(req), why: 'missing or wrong signature' });
    return { status: 401, body: { error: `missing or wrong ${h.signature} signature` } };
  }
  const id = req.headers[h.delivery];
  if (typeof id !== 'string' || !DELIVERY_ID.test(id)) {
    return { status: 400, body: { error: `missing or malformed ${h.delivery} header` } };
  }
  const event = h.event ? req.headers[h.event] : 'publish';
  return { source: h.source, id, event: typeof event === 'string' ? event : '', body };
}

async function platform(ctx: HookContext): Promise<PlatformDir | Reply> {
  try {
    // Read afresh: a project added (or given its repository) since start is known at once.
    return await loadPlatformDir(ctx.dir);
  } catch (e) {
    ctx.log({ event: 'spec-error', detail: e instanceof Error ? e.message : String(e) });
    return { status: 503, body: { error: 'the platform spec does not load; see the server log' } };
  }
}

const jobsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  state: z.enum(jobStates).optional(),
  project: z.string().max(40).optional(),
});

function jobsReply(ctx: HookContext, req: IncomingMessage): Reply {
  const q = jobsQuery.safeParse(Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams));
  if (!q.success) return { status: 400, body: { error: 'expected ?limit=1..1000&state=…&project=…' } };
  const o: { limit: number; state?: JobState; project?: string } = { limit: q.data.limit };
  if (q.data.state) o.state = q.data.state;
  if (q.data.project) o.project = q.data.project;
  return { status: 200, body: { jobs: listJobs(ctx.db, o) } };
}

async function versionsReply(ctx: HookContext, project: string): Promise<Reply> {
  const pd = await platform(ctx);
  if ('status' in pd) return pd;
  if (!pd.projects.has(project)) return { status: 404, body: { error: `no project ${project}` } };
  return { status: 200, body: { project, versions: deployableVersions(ctx.db, project) } };
}

/** The body, or 'too-large' as soon as it passes `limit` (the rest is discarded unread). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        resolve('too-large');
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    // A client that goes away mid-body: nothing to answer (a no-op once the body is read).
    req.on('close', () => reject(new Error('the client closed the connection before sending its body')));
  });
}

function notAllowed(allow: string): Reply & { allow: string } {
  return { status: 405, body: { error: `method not allowed: use ${allow}` }, allow };
}

function send(res: ServerResponse, r: Reply & { allow?: string }): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (r.allow) headers.allow = r.allow;
  // A body left unread is not worth keeping the connection for.
  if (r.status === 413) headers.connection = 'close';
  res.writeHead(r.status, headers);
  res.end(JSON.stringify(r.body));
}

function pathOf(req: IncomingMessage): string | undefined {
  try {
    return new URL(req.url ?? '/', 'http://x').pathname;
  } catch {
    return undefined;
  }
}
