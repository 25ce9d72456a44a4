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
import { X509Certificate } from 'node:crypto';
import acme from 'acme-client';
import { OdpError } from '../../errors.js';
import { Secret } from '../../secret.js';
import { dnsChallengeName, type ChallengeType, type DnsProvider, type Http01Responder } from './types.js';

export { dnsChallengeName, type ChallengeType, type DnsProvider, type Http01Responder } from './types.js';
export { DEFAULT_RATE_LIMIT_BACKOFF_MS, parseRetryAfter } from './transport.js';
import { agentTrusting, calls, type CallContext } from './transport.js';

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
    ...(o.caCertificates ? { httpsAgent: agentTrusting(o.caCertificates) } : {}),
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
