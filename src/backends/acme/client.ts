// ACME v2 through acme-client: the only module that imports it. One call,
// issueCertificate, registers (or reuses) the account, orders a certificate for
// some domains, answers each authorization with the configured challenge, and
// returns the chain and its new private key.
//
// acme-client sends every request through one shared axios instance
// (`acme.axios`, part of its documented surface) and, left alone, retries 429s
// and unreachable servers itself, sleeping for as long as Retry-After says (hours,
// for a Let's Encrypt rate limit) and losing the original network error. So this
// module owns that instance's transport:
//  - acme-client's own retries are off (`acmeSettings.retryMaxAttempts = 0`);
//  - the instance's adapter is ours: it wraps axios's own http adapter (taken from
//    the axios copy acme-client itself loads), adds the extra CA and a timeout, and
//    sees every response and network error before acme-client does. That is how
//    the Retry-After header and the ACME problem document of a refused request
//    reach us: the adapter notes them in the calling issuance's context
//    (AsyncLocalStorage, so concurrent issuances never mix), and the error
//    acme-client then throws is turned into an AcmeError carrying them.
//  - idempotent requests (GET/HEAD) to the ACME server that fail on the network or
//    with a 5xx are retried twice, quickly; nothing sleeps on a Retry-After.
import { AsyncLocalStorage } from 'node:async_hooks';
import { X509Certificate } from 'node:crypto';
import { Agent } from 'node:https';
import { createRequire } from 'node:module';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import { OdpError } from '../../errors.js';
import { Secret } from '../../secret.js';
import { dnsChallengeName, type ChallengeType, type DnsProvider, type Http01Responder } from './types.js';

export { dnsChallengeName, type ChallengeType, type DnsProvider, type Http01Responder } from './types.js';

export interface IssueOptions {
  directoryUrl: string;
  email: string;
  accountKeyPem: Secret | string;
  /** The account's URL from an earlier registration with this key: skips registering again. */
  accountUrl?: string;
  /** Called as soon as the server has registered the account (before the order), to store its URL. */
  onAccount?: (accountUrl: string) => void;
  domains: string[];
  challenge: ChallengeType;
  http01?: Http01Responder;
  dns01?: DnsProvider;
  /** An extra CA (PEM) to trust for the ACME server's own HTTPS listener (Pebble's). */
  caCertificates?: string;
  /** Skip acme-client's own look at the published challenge before asking the server. */
  skipChallengeVerification?: boolean;
  /** Bound on each HTTP request to the ACME server; default 30 s. */
  requestTimeoutMs?: number;
}

export interface IssuedCertificate {
  /** The leaf first, then the intermediates, PEM. */
  certPem: string;
  keyPem: Secret;
  notBefore: Date;
  notAfter: Date;
  /** The issuing CA's common name. */
  issuer: string;
  /** The account the certificate was ordered with; store it to skip registering next time. */
  accountUrl: string;
}

export type AcmeFailure = 'unreachable' | 'rate-limited' | 'challenge' | 'refused';

/** Why an issuance failed, with what the caller needs to act on it. */
export class AcmeError extends OdpError {
  readonly failure: AcmeFailure;
  readonly domain: string | undefined;
  /** When the server allows the next request (a 429's Retry-After). */
  readonly retryAfter: Date | undefined;
  /** The ACME problem type, e.g. urn:ietf:params:acme:error:rateLimited. */
  readonly problemType: string | undefined;
  /** The limit or outage concerns the account or the server, not only this domain. */
  readonly accountWide: boolean;

  constructor(
    failure: AcmeFailure,
    message: string,
    o: {
      domain?: string;
      retryAfter?: Date;
      problemType?: string;
      accountWide?: boolean;
      hint?: string;
      cause?: unknown;
    } = {},
  ) {
    const detail = [
      o.domain ? `domain: ${o.domain}` : '',
      o.problemType ? `problem: ${o.problemType}` : '',
      o.retryAfter ? `retry after: ${o.retryAfter.toISOString()}` : '',
    ]
      .filter(Boolean)
      .join('\n');
    super('ENGINE', message, { hint: o.hint, cause: o.cause, ...(detail ? { detail } : {}) });
    this.name = 'AcmeError';
    this.failure = failure;
    this.domain = o.domain;
    this.retryAfter = o.retryAfter;
    this.problemType = o.problemType;
    this.accountWide = o.accountWide ?? failure === 'unreachable';
  }
}

export function isAcmeError(e: unknown): e is AcmeError {
  return e instanceof AcmeError;
}

/** A new ACME account key (ECDSA P-256). */
export async function createAccountKey(): Promise<Secret> {
  return new Secret((await acme.crypto.createPrivateEcdsaKey('P-256')).toString());
}

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

// ---------------------------------------------------------------------------
// Transport: the adapter under acme-client's axios instance.

interface Problem {
  status: number;
  type?: string;
  detail?: string;
}

interface CallContext {
  acmeHost: string;
  httpsAgent?: Agent;
  timeoutMs: number;
  unreachable?: { url: string; message: string };
  limited?: Problem & { retryAfter: Date; stated: boolean };
  lastProblem?: Problem;
}

const calls = new AsyncLocalStorage<CallContext>();

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

// ---------------------------------------------------------------------------
// The issuance.

const ACCOUNT_STEP = 'register the ACME account';

/** A failure inside one step, before it is classified. */
class StepFailure extends Error {
  constructor(
    readonly step: string,
    readonly domain: string | undefined,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

async function step<T>(what: string, body: () => Promise<T>, domain?: string): Promise<T> {
  try {
    return await body();
  } catch (e) {
    throw e instanceof StepFailure || e instanceof AcmeError ? e : new StepFailure(what, domain, e);
  }
}

export async function issueCertificate(o: IssueOptions): Promise<IssuedCertificate> {
  const domains = [...new Set(o.domains.map((d) => d.trim().toLowerCase()))];
  if (domains.length === 0) throw new OdpError('USAGE', 'a certificate needs at least one domain');
  if (o.challenge === 'http-01' && !o.http01) {
    throw new OdpError('USAGE', 'HTTP-01 needs a responder (the edge) to serve the challenge');
  }
  if (o.challenge === 'dns-01' && !o.dns01) {
    throw new OdpError('USAGE', 'DNS-01 needs a DNS provider', {
      hint: 'Set acme.dnsProvider in platform.yaml.',
    });
  }
  let directory: URL;
  try {
    directory = new URL(o.directoryUrl);
  } catch {
    throw new OdpError('USAGE', `not an ACME directory URL: ${o.directoryUrl}`);
  }
  const ctx: CallContext = {
    acmeHost: directory.host,
    timeoutMs: o.requestTimeoutMs ?? 30_000,
    ...(o.caCertificates ? { httpsAgent: new Agent({ ca: [...rootCertificates, o.caCertificates] }) } : {}),
  };
  try {
    return await calls.run(ctx, async () => {
      try {
        return await issue(o, domains);
      } catch (e) {
        // The server forgot the stored account (a test server restarted, an
        // account deactivated elsewhere): register the same key again, once.
        if (!o.accountUrl || ctx.lastProblem?.type !== 'urn:ietf:params:acme:error:accountDoesNotExist')
          throw e;
        delete ctx.lastProblem;
        return await issue({ ...o, accountUrl: undefined }, domains);
      }
    });
  } catch (e) {
    throw classify(e, ctx, o);
  } finally {
    ctx.httpsAgent?.destroy();
  }
}

async function issue(o: IssueOptions, domains: string[]): Promise<IssuedCertificate> {
  const key = typeof o.accountKeyPem === 'string' ? o.accountKeyPem : o.accountKeyPem.reveal();
  const client = new acme.Client({
    directoryUrl: o.directoryUrl,
    accountKey: key,
    ...(o.accountUrl ? { accountUrl: o.accountUrl } : {}),
    // Polls of a pending challenge or order: 1 s, 2 s, 4 s, 8 s, then every 10 s; about 90 s in all.
    backoffAttempts: 12,
    backoffMin: 1000,
    backoffMax: 10_000,
  });
  if (!o.accountUrl) {
    await step(ACCOUNT_STEP, () =>
      client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${o.email}`] }),
    );
  }
  const accountUrl = client.getAccountUrl();
  if (accountUrl !== o.accountUrl) o.onAccount?.(accountUrl);
  const order = await step('accept the order', () =>
    client.createOrder({ identifiers: domains.map((value) => ({ type: 'dns', value })) }),
  );
  const authorizations = await step('list the authorizations', () => client.getAuthorizations(order));
  const settled = await Promise.allSettled(authorizations.map((a) => authorize(client, a, o)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;

  const [keyPem, csr] = await acme.crypto.createCsr({ commonName: domains[0]!, altNames: domains });
  const finalized = await step('finalize the order', () => client.finalizeOrder(order, csr));
  const chain = await step('deliver the certificate', () => client.getCertificate(finalized));
  return { ...describeChain(chain), keyPem: new Secret(keyPem.toString()), accountUrl };
}

type Authorization = Awaited<ReturnType<acme.Client['getAuthorizations']>>[number];

async function authorize(client: acme.Client, authz: Authorization, o: IssueOptions): Promise<void> {
  const domain = authz.identifier.value;
  if (authz.status === 'valid') return;
  const challenge = authz.challenges.find((c) => c.type === o.challenge);
  if (!challenge) {
    throw new StepFailure(
      `answer a ${o.challenge} challenge for ${domain}`,
      domain,
      new Error(
        `the server offers no ${o.challenge} challenge (only ${authz.challenges.map((c) => c.type).join(', ')})`,
      ),
    );
  }
  const what = `prove control of ${domain} over ${o.challenge}`;
  const keyAuthorization = await step(what, () => client.getChallengeKeyAuthorization(challenge), domain);
  const token = 'token' in challenge ? challenge.token : '';
  const name = dnsChallengeName(domain);
  let completed = false;
  try {
    try {
      await step(
        `publish the ${o.challenge} challenge for ${domain}`,
        () =>
          o.challenge === 'http-01'
            ? o.http01!.set(token, keyAuthorization)
            : o.dns01!.setTxt(name, keyAuthorization),
        domain,
      );
      if (!o.skipChallengeVerification)
        await step(what, () => client.verifyChallenge(authz, challenge), domain);
      await step(what, () => client.completeChallenge(challenge), domain);
      completed = true;
      await step(what, () => client.waitForValidStatus(challenge), domain);
    } finally {
      // Best effort: a stale token or TXT record does no harm.
      await (
        o.challenge === 'http-01' ? o.http01!.remove(token) : o.dns01!.removeTxt(name, keyAuthorization)
      ).catch(() => undefined);
    }
  } catch (e) {
    // An authorization left pending counts against the CA's limits.
    if (!completed) await client.deactivateAuthorization(authz).catch(() => undefined);
    throw e;
  }
}

function describeChain(chain: string): Omit<IssuedCertificate, 'keyPem' | 'accountUrl'> {
  const pems = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new AcmeError('refused', 'the ACME server delivered no certificate');
  const leaf = new X509Certificate(pems[0]!);
  return {
    certPem: pems.join('\n') + '\n',
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    issuer: /^CN=(.*)$/m.exec(leaf.issuer)?.[1] ?? leaf.issuer.replace(/\n/g, ', '),
  };
}

function classify(e: unknown, ctx: CallContext, o: IssueOptions): OdpError {
  if (e instanceof OdpError) return e;
  const f = e instanceof StepFailure ? e : new StepFailure('talk to the ACME server', undefined, e);
  const origin = (() => {
    try {
      return new URL(o.directoryUrl).origin;
    } catch {
      return o.directoryUrl;
    }
  })();
  const cause = f.cause;
  if (ctx.unreachable) {
    return new AcmeError(
      'unreachable',
      `the ACME server ${origin} is unreachable: ${ctx.unreachable.message}`,
      {
        ...(f.domain ? { domain: f.domain } : {}),
        hint: 'Check acme.directory and the network; the current certificates stay in place and odp tries again on its next run.',
        cause,
      },
    );
  }
  if (ctx.limited) {
    const l = ctx.limited;
    const why = l.detail ?? `HTTP ${l.status}`;
    return new AcmeError(
      'rate-limited',
      `the ACME server ${origin} rate-limited the request to ${f.step}: ${why}; ` +
        `no new request before ${l.retryAfter.toISOString()}${l.stated ? '' : ' (it named no Retry-After)'}`,
      {
        ...(f.domain ? { domain: f.domain } : {}),
        retryAfter: l.retryAfter,
        // Without an account nothing else can be asked for.
        accountWide: f.step === ACCOUNT_STEP,
        ...(l.type ? { problemType: l.type } : {}),
        cause,
      },
    );
  }
  const detail = (ctx.lastProblem?.detail ?? f.message).replace(/\s+/g, ' ').trim();
  if (f.domain) {
    return new AcmeError('challenge', `could not ${f.step}: ${detail}`, {
      domain: f.domain,
      ...(ctx.lastProblem?.type ? { problemType: ctx.lastProblem.type } : {}),
      hint:
        o.challenge === 'http-01'
          ? `Check that ${f.domain} points at the edge and that its HTTP port is reachable from the internet.`
          : `Check that the DNS provider manages the zone of ${f.domain}.`,
      cause,
    });
  }
  return new AcmeError('refused', `the ACME server ${origin} refused to ${f.step}: ${detail}`, {
    ...(ctx.lastProblem?.type ? { problemType: ctx.lastProblem.type } : {}),
    cause,
  });
}
