// The two ways odp proves control of a domain to an ACME server. The edge
// answers HTTP-01 (it serves `/.well-known/acme-challenge/<token>` from a token
// map on its HTTP port); a DNS provider publishes DNS-01 TXT records.

/** Serves `http://<domain>/.well-known/acme-challenge/<token>` → keyAuthorization. */
export interface Http01Responder {
  set(token: string, keyAuthorization: string): Promise<void>;
  remove(token: string): Promise<void>;
}

/**
 * Publishes `TXT <fqdn> "<value>"`. fqdn is `_acme-challenge.<domain>` without a
 * trailing dot. A provider must keep other values of the same name (a name may
 * carry several challenge values at once) and resolve only once the record is
 * visible to the domain's authoritative servers.
 */
export interface DnsProvider {
  setTxt(fqdn: string, value: string): Promise<void>;
  removeTxt(fqdn: string, value: string): Promise<void>;
}

export type ChallengeType = 'http-01' | 'dns-01';

/** `_acme-challenge.<domain>`, for a wildcard the name of its base domain. */
export function dnsChallengeName(domain: string): string {
  return `_acme-challenge.${domain.replace(/^\*\./, '').replace(/\.$/, '')}`;
}
