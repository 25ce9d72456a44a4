// The HTTP side of `odp serve`. Webhooks: a body is read up to a limit (413
// once the rest is drained, src/server/body.ts), its signature checked against
// the raw bytes before anything parses it (401), its content type next (415),
// the delivery recorded with the work it caused in one transaction (a replay,
// by id or by GitHub body, is answered `duplicate` and does nothing; a
// re-used or stale publish notice is refused, 409/403). Nothing a client sends
// reaches an exception: malformed input is a 4xx, and an unexpected failure a
// 500 that leaves the server serving. Secrets and bodies are never logged.
// The statuses are listed in docs/decisions/0035.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import { loadPlatformDir, type PlatformDir } from '../platformdir/load.js';
import type { Secret } from '../secret.js';
import { deployableVersions, jobStates, listJobs, type JobState } from '../state/jobs.js';
import { DELIVERY_ID, PUBLISH_SIGNATURE_HEADER, verifyDelivery, verifySignature } from '../webhooks/sign.js';
import { readBody } from './body.js';
import type { Delivery, HookContext, Reply } from './hook-context.js';
import { githubDelivery } from './github-hook.js';
import { publishNotice } from './publish-hook.js';

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
  if (path === '/healthz')
    return get(async () => ({ status: 200, body: { status: 'ok', ...(await ctx.health()) } }));
  if (path === '/api/jobs') return get(() => jobsReply(ctx, req));
  const versions = path === undefined ? null : PROJECT_VERSIONS.exec(path);
  if (versions) return get(() => versionsReply(ctx, versions[1]!));
  if (path === '/hooks/github' || path === '/hooks/publish') {
    if (req.method !== 'POST') return notAllowed('POST');
    const body = await readBody(req, { limit: ctx.bodyLimit });
    if (body === 'too-large')
      return { status: 413, body: { error: `the body is over ${ctx.bodyLimit} bytes` } };
    if (!ctx.secret) return notConfigured();
    return path === '/hooks/github'
      ? github(ctx, ctx.secret, req, body)
      : publish(ctx, ctx.secret, req, body);
  }
  return { status: 404, body: { error: 'not found' } };
}

/**
 * GitHub's scheme exactly as GitHub sends it: `X-Hub-Signature-256` over the
 * body. The delivery id is not signed, so the body's hash is recorded too and
 * a signed body seen before is a duplicate whatever its id (src/server/delivery.ts).
 */
async function github(ctx: HookContext, secret: Secret, req: IncomingMessage, body: Buffer): Promise<Reply> {
  if (!verifySignature(secret, body, req.headers['x-hub-signature-256'])) {
    return unsigned(ctx, req, 'missing or wrong x-hub-signature-256 signature');
  }
  const bad = badContentType(req);
  if (bad) return bad;
  const id = req.headers['x-github-delivery'];
  if (typeof id !== 'string' || !DELIVERY_ID.test(id)) {
    return { status: 400, body: { error: 'missing or malformed x-github-delivery header' } };
  }
  const event = req.headers['x-github-event'];
  const bodySha256 = createHash('sha256').update(body).digest('hex');
  const d: Delivery = {
    source: 'github',
    id,
    event: typeof event === 'string' ? event : '',
    body,
    bodySha256,
  };
  return githubDelivery(ctx, d, () => platform(ctx));
}

/**
 * `odp publish`'s own scheme: the delivery id and the time are signed with the
 * body (src/webhooks/sign.ts), so neither can be changed; an old notice (beyond
 * the window) is refused, and a re-used id is refused by the delivery record.
 */
async function publish(ctx: HookContext, secret: Secret, req: IncomingMessage, body: Buffer): Promise<Reply> {
  const v = verifyDelivery(secret, body, req.headers[PUBLISH_SIGNATURE_HEADER], {
    now: Date.now(),
    windowMs: ctx.publishWindowMs ?? 5 * 60_000,
  });
  if (v.outcome === 'unsigned') {
    const old = req.headers['x-odp-signature-256'] !== undefined;
    return unsigned(
      ctx,
      req,
      `missing or wrong ${PUBLISH_SIGNATURE_HEADER} signature` +
        (old ? ' (x-odp-signature-256 alone is no longer accepted: update odp publish)' : ''),
    );
  }
  if (v.outcome === 'stale') {
    ctx.log({ event: 'webhook-refused', path: pathOf(req), delivery: v.id, why: v.reason });
    return { status: 403, body: { error: v.reason } };
  }
  const bad = badContentType(req);
  if (bad) return bad;
  return publishNotice(ctx, { source: 'odp', id: v.id, event: 'publish', body }, () => platform(ctx));
}

function notConfigured(): Reply {
  return { status: 503, body: { error: 'webhooks are not configured on this server (no webhook secret)' } };
}

/** The signature first: an unsigned request learns nothing, not even whether its headers were right. */
function unsigned(ctx: HookContext, req: IncomingMessage, error: string): Reply {
  ctx.log({ event: 'webhook-refused', path: pathOf(req), why: 'missing or wrong signature' });
  return { status: 401, body: { error } };
}

/** GitHub can be set to send form-encoded bodies; say so rather than "not JSON". */
function badContentType(req: IncomingMessage): Reply | undefined {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return undefined;
  return {
    status: 415,
    body: {
      error: `content type ${type || '(none)'} is not accepted: send application/json (in GitHub's webhook settings, "Content type: application/json")`,
    },
  };
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
