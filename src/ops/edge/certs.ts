// Certificates for the platform's domains: one pass decides, per domain, to keep
// the certificate odp holds, to ask the ACME server for one (none yet, or fewer
// than renewBeforeDays left, or forced), or to wait (the server asked for it
// with Retry-After). Declaring an instance, `odp certs renew` and the scheduler
// of `odp serve` all run this same pass.
//
// Nothing here ever leaves a domain worse off: a failure records an event and
// leaves the current certificate in place, serving.
import { createAccountKey, isAcmeError, issueCertificate } from '../../backends/acme/client.js';
import { Route53Dns } from '../../backends/acme/route53.js';
import type { DnsProvider, Http01Responder } from '../../backends/acme/types.js';
import { OdpError } from '../../errors.js';
import { certificateNeed } from '../../plan/edge.js';
import type { Secret } from '../../secret.js';
import type { PlatformSpec } from '../../platform-spec/platform-schema.js';
import { CertStore, type CertOutcome } from '../../state/certs.js';
import { withInstanceLock } from '../../state/lock.js';

export type CertAction = 'kept' | 'issued' | 'renewed' | 'deferred' | 'failed';

export interface CertResult {
  domain: string;
  action: CertAction;
  /** Expiry of the certificate in place after this pass (none when the domain has none). */
  notAfter?: Date;
  /** Why it was requested, deferred or failed. */
  reason?: string;
  /** When a deferred or rate-limited domain may be asked for again. */
  retryAfter?: Date;
}

export type CertProgress =
  { domain: string; phase: 'requesting'; reason: string } | ({ phase: 'done' } & CertResult);

export interface EnsureCertificatesOptions {
  platformDir: string;
  acme: PlatformSpec['acme'];
  domains: string[];
  /** The edge's challenge responder; required for http-01. */
  http01?: Http01Responder;
  /** Defaults to the provider named by acme.dnsProvider. */
  dns01?: DnsProvider;
  /** An extra CA for the ACME server's own HTTPS listener (a test server's). */
  caCertificates?: string;
  skipChallengeVerification?: boolean;
  now?: Date;
  /** Renew held certificates however long they have left (a Retry-After is still honoured). */
  force?: boolean;
  onEvent?: (e: CertProgress) => void;
}

const DAY = 86_400_000;

export async function ensureCertificates(o: EnsureCertificatesOptions): Promise<CertResult[]> {
  const domains = [...new Set(o.domains.map((d) => d.trim().toLowerCase()).filter(Boolean))];
  if (domains.length === 0) return [];
  const dns01 =
    o.dns01 ??
    (o.acme.challenge === 'dns-01' && o.acme.dnsProvider === 'route53' ? new Route53Dns() : undefined);
  // One pass at a time per platform: two would order the same certificate twice.
  return withInstanceLock(
    o.platformDir,
    'acme-certificates',
    { wait: true, waitMs: 15 * 60_000 },
    async () => {
      const store = CertStore.open(o.platformDir);
      try {
        const pass = new Pass(o, store, dns01);
        const results: CertResult[] = [];
        for (const domain of domains) {
          const r = await pass.ensure(domain);
          o.onEvent?.({ phase: 'done', ...r });
          results.push(r);
        }
        return results;
      } finally {
        store.close();
      }
    },
  );
}

class Pass {
  readonly #now: Date;
  /** Set when the server rate-limited the account: no more requests until then. */
  #limitedUntil: Date | undefined;
  /** Set when the server could not be reached: the other domains fail without trying. */
  #down: string | undefined;
  #account: { keyPem: Secret; url: string | undefined } | undefined;

  constructor(
    readonly o: EnsureCertificatesOptions,
    readonly store: CertStore,
    readonly dns01: DnsProvider | undefined,
  ) {
    this.#now = o.now ?? new Date();
  }

  async ensure(domain: string): Promise<CertResult> {
    const { acme } = this.o;
    const held = this.store.get(domain);
    const need = certificateNeed(held, acme, this.#now, this.o.force);
    if (!need) return { domain, action: 'kept', notAfter: held!.notAfter };
    const current = held ? { notAfter: held.notAfter } : {};

    const recorded = this.store.retryAfter(domain, this.#now);
    const wait = recorded ?? this.#limitedUntil;
    if (wait) {
      // An account-wide limit holds for every domain: recorded so that later passes wait too.
      if (!recorded) this.store.recordEvent(domain, 'deferred', 'the ACME account is rate-limited', wait);
      return {
        domain,
        action: 'deferred',
        ...current,
        reason: `${need}; the ACME server asked odp to wait until ${wait.toISOString()}`,
        retryAfter: wait,
      };
    }
    if (this.#down) return this.#failed(domain, held?.notAfter, this.#down);

    this.o.onEvent?.({ domain, phase: 'requesting', reason: need });
    try {
      const account = await this.#accountFor();
      const cert = await issueCertificate({
        directoryUrl: acme.directory,
        email: acme.email,
        accountKeyPem: account.keyPem,
        ...(account.url ? { accountUrl: account.url } : {}),
        onAccount: (url) => {
          this.store.saveAccount({
            directory: acme.directory,
            email: acme.email,
            keyPem: account.keyPem,
            url,
          });
          account.url = url;
        },
        domains: [domain],
        challenge: acme.challenge,
        ...(this.o.http01 ? { http01: this.o.http01 } : {}),
        ...(this.dns01 ? { dns01: this.dns01 } : {}),
        ...(this.o.caCertificates ? { caCertificates: this.o.caCertificates } : {}),
        ...(this.o.skipChallengeVerification ? { skipChallengeVerification: true } : {}),
      });
      this.store.put(domain, { ...cert, directory: acme.directory });
      const action: CertOutcome = held ? 'renewed' : 'issued';
      this.store.recordEvent(
        domain,
        action,
        `${need}; ${cert.issuer}, valid until ${cert.notAfter.toISOString()}`,
      );
      return { domain, action, notAfter: cert.notAfter, reason: need };
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (isAcmeError(e) && e.failure === 'unreachable') this.#down = reason;
      const retryAfter = isAcmeError(e) ? e.retryAfter : undefined;
      // A limit on one domain (duplicate certificates, failed validations) leaves
      // the others free to go on; a limit on the account stops the pass.
      if (retryAfter && isAcmeError(e) && e.accountWide) this.#limitedUntil = retryAfter;
      return this.#failed(domain, held?.notAfter, reason, e, retryAfter);
    }
  }

  #failed(
    domain: string,
    notAfter: Date | undefined,
    reason: string,
    e?: unknown,
    retryAfter?: Date,
  ): CertResult {
    const detail = e instanceof OdpError && e.detail ? `${reason}\n${e.detail}` : reason;
    this.store.recordEvent(domain, 'failed', detail, retryAfter);
    return {
      domain,
      action: 'failed',
      ...(notAfter ? { notAfter } : {}),
      reason,
      ...(retryAfter ? { retryAfter } : {}),
    };
  }

  /** The directory's account: created once (its key saved before the server sees it), then reused. */
  async #accountFor(): Promise<{ keyPem: Secret; url: string | undefined }> {
    if (this.#account) return this.#account;
    const { directory, email } = this.o.acme;
    let a = this.store.account(directory);
    if (!a) {
      this.store.saveAccount({ directory, email, keyPem: await createAccountKey() });
      a = this.store.account(directory)!;
    } else if (a.email !== email) {
      // Registering the same key again updates the account's contact.
      this.store.saveAccount({ directory, email, keyPem: a.keyPem });
      a = { ...a, url: undefined };
    }
    this.#account = { keyPem: a.keyPem, url: a.url };
    return this.#account;
  }
}

export interface CertStatus {
  domain: string;
  issuer?: string;
  notBefore?: Date;
  notAfter?: Date;
  /** Whole days until expiry (negative once expired). */
  daysLeft?: number;
  directory?: string;
  /** The ACME server asked to wait until then. */
  retryAfter?: Date;
  last?: { outcome: CertOutcome; at: Date; detail?: string };
}

/** Every domain odp holds a certificate for or has tried to, with its days left. */
export function certStatus(platformDir: string, now: Date = new Date()): CertStatus[] {
  const store = CertStore.open(platformDir);
  try {
    const certs = new Map(store.list().map((c) => [c.domain, c]));
    const domains = new Set([...certs.keys(), ...store.eventDomains()]);
    return [...domains].sort().map((domain) => {
      const c = certs.get(domain);
      const last = store.events(domain, 1)[0];
      const retryAfter = store.retryAfter(domain, now);
      return {
        domain,
        ...(c
          ? {
              issuer: c.issuer,
              notBefore: c.notBefore,
              notAfter: c.notAfter,
              daysLeft: Math.floor((c.notAfter.getTime() - now.getTime()) / DAY),
              directory: c.directory,
            }
          : {}),
        ...(retryAfter ? { retryAfter } : {}),
        ...(last
          ? { last: { outcome: last.outcome, at: last.at, ...(last.detail ? { detail: last.detail } : {}) } }
          : {}),
      };
    });
  } finally {
    store.close();
  }
}
