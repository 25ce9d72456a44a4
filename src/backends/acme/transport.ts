// The transport under acme-client's axios instance (see client.ts for why odp
// owns it): the extra CA, bounded timeouts, quick retries of idempotent
// requests, and a per-issuance record of Retry-After and ACME problems.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent } from 'node:https';
import { createRequire } from 'node:module';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';

// ---------------------------------------------------------------------------
// Transport: the adapter under acme-client's axios instance.

interface Problem {
  status: number;
  type?: string;
  detail?: string;
}

export interface CallContext {
  acmeHost: string;
  httpsAgent?: Agent;
  timeoutMs: number;
  unreachable?: { url: string; message: string };
  limited?: Problem & { retryAfter: Date; stated: boolean };
  lastProblem?: Problem;
}

export const calls = new AsyncLocalStorage<CallContext>();

/** An agent that trusts the usual roots and one extra CA (a private or test ACME server's). */
export function agentTrusting(ca: string): Agent {
  return new Agent({ ca: [...rootCertificates, ca] });
}

interface RequestConfig {
  url?: string;
  baseURL?: string;
  method?: string;
  timeout?: number;
  httpsAgent?: unknown;
}
interface ResponseLike {
  status: number;
  headers: Record<string, unknown>;
  data?: unknown;
}
type Adapter = (config: RequestConfig) => Promise<ResponseLike>;
type NetworkError = Error & { code?: string; response?: ResponseLike };

// The very axios copy acme-client loads, for its http adapter.
const requireHere = createRequire(import.meta.url);
const axiosOfAcmeClient = createRequire(requireHere.resolve('acme-client'))('axios') as {
  getAdapter(name: string): Adapter;
};
const httpAdapter = axiosOfAcmeClient.getAdapter('http');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readProblem(r: ResponseLike): Problem {
  let body: unknown = r.data;
  if (Buffer.isBuffer(body)) body = body.toString('utf8');
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = undefined;
    }
  }
  const p = (body ?? {}) as { type?: unknown; detail?: unknown };
  return {
    status: r.status,
    ...(typeof p.type === 'string' ? { type: p.type } : {}),
    ...(typeof p.detail === 'string' ? { detail: p.detail } : {}),
  };
}

function note(ctx: CallContext, r: ResponseLike): void {
  if (r.status < 400) {
    delete ctx.lastProblem;
    return;
  }
  const problem = readProblem(r);
  ctx.lastProblem = problem;
  const stated = parseRetryAfter(r.headers['retry-after']);
  if (r.status === 429 || (r.status === 503 && stated)) {
    ctx.limited = {
      ...problem,
      retryAfter: stated ?? new Date(Date.now() + DEFAULT_RATE_LIMIT_BACKOFF_MS),
      stated: stated !== undefined,
    };
  }
}

function describeNetworkError(e: NetworkError, timeoutMs: number): string {
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT')
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  const code = e.code ?? (e.cause as { code?: string } | undefined)?.code;
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return `its HTTPS certificate is not trusted (${code}: ${e.message})`;
  }
  return code ? `${code} (${e.message})` : e.message;
}

const odpAdapter: Adapter = async (config) => {
  const ctx = calls.getStore();
  if (!ctx) return httpAdapter(config);
  if (ctx.httpsAgent && !config.httpsAgent) config.httpsAgent = ctx.httpsAgent;
  if (!config.timeout) config.timeout = ctx.timeoutMs;
  let host = '';
  try {
    host = new URL(config.url ?? '', config.baseURL).host;
  } catch {
    /* let the adapter report it */
  }
  const toAcme = host === ctx.acmeHost;
  const idempotent = ['get', 'head'].includes((config.method ?? 'get').toLowerCase());
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await httpAdapter(config);
      if (toAcme) note(ctx, r);
      return r;
    } catch (e) {
      const err = e as NetworkError;
      // acme-client's interceptor makes every response "fail" here; real
      // failures have no response.
      if (err.response) {
        if (toAcme) note(ctx, err.response);
        const s = err.response.status;
        if (toAcme && idempotent && s >= 500 && s !== 503 && attempt < 2) {
          await sleep(500 * 2 ** attempt);
          continue;
        }
        throw e;
      }
      if (toAcme && idempotent && attempt < 2) {
        await sleep(500 * 2 ** attempt);
        continue;
      }
      if (toAcme)
        ctx.unreachable = { url: config.url ?? '', message: describeNetworkError(err, ctx.timeoutMs) };
      throw e;
    }
  }
};

(
  acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }
).acmeSettings.retryMaxAttempts = 0;
acme.axios.defaults.adapter = odpAdapter as unknown as typeof acme.axios.defaults.adapter;

/** How long to stay away after a 429 that names no Retry-After. */
export const DEFAULT_RATE_LIMIT_BACKOFF_MS = 60 * 60_000;

/**
 * A Retry-After header value as a point in time: either delay-seconds or an
 * HTTP-date (RFC 9110 §10.2.3). undefined when absent or unreadable.
 */
export function parseRetryAfter(value: unknown, now: Date = new Date()): Date | undefined {
  if (Array.isArray(value)) value = value[0];
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const v = String(value).trim();
  if (/^\d+$/.test(v)) return new Date(now.getTime() + Number(v) * 1000);
  if (!/[a-z]/i.test(v)) return undefined; // "-5", "1.5": neither form
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t);
}
