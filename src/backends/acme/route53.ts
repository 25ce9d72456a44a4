// DNS-01 through Amazon Route53: the TXT record `_acme-challenge.<domain>` in the
// public hosted zone found by name, changed with UPSERT/DELETE, and each change
// waited for until Route53 reports it INSYNC (all its authoritative servers
// answer it), within a bound.
//
// A name may carry several challenge values at once (a certificate for a domain
// and its wildcard), and UPSERT replaces the whole record set: so a change reads
// the current values first and writes the union, or the rest. What to send is
// decided by pure functions (txtChangeBatch, zoneCandidates, pickHostedZone),
// unit-tested; the AWS calls themselves need an AWS account to run.
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ChangeBatch,
  type HostedZone,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { OdpError } from '../../errors.js';
import type { DnsProvider } from './types.js';

export interface Route53Options {
  /** A ready client (credentials from the SDK's default chain otherwise). */
  client?: Route53Client;
  /** Skip the zone lookup. */
  hostedZoneId?: string;
  ttl?: number;
  /** Bound on waiting for INSYNC; default 3 minutes. */
  waitTimeoutMs?: number;
  pollIntervalMs?: number;
}

export interface TxtRecord {
  values: string[];
  ttl: number;
}

const absolute = (name: string) => (name.endsWith('.') ? name : `${name}.`).toLowerCase();

/** TXT strings are quoted in Route53's API; a challenge value (base64url) needs no escaping, others get it. */
export function quoteTxt(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `"abc"` or `"ab" "c"` (long values split in strings) → abc. */
export function unquoteTxt(value: string): string {
  const parts = value.match(/"((?:[^"\\]|\\.)*)"/g);
  if (!parts) return value;
  return parts.map((p) => p.slice(1, -1).replace(/\\(.)/g, '$1')).join('');
}

/**
 * The change that adds a value to, or removes one from, the TXT record `fqdn`
 * whose current state is `current`; undefined when nothing needs changing.
 */
export function txtChangeBatch(
  fqdn: string,
  current: TxtRecord | undefined,
  change: { add: string } | { remove: string },
  ttl = 60,
): ChangeBatch | undefined {
  const name = absolute(fqdn);
  const values = current?.values ?? [];
  const set = (action: 'UPSERT' | 'DELETE', vs: string[], t: number): ChangeBatch => ({
    Comment: `odp ACME DNS-01 challenge for ${name}`,
    Changes: [
      {
        Action: action,
        ResourceRecordSet: {
          Name: name,
          Type: 'TXT',
          TTL: t,
          ResourceRecords: vs.map((v) => ({ Value: quoteTxt(v) })),
        },
      },
    ],
  });
  if ('add' in change) {
    if (values.includes(change.add)) return undefined;
    return set('UPSERT', [...values, change.add], ttl);
  }
  if (!values.includes(change.remove)) return undefined;
  const rest = values.filter((v) => v !== change.remove);
  // DELETE must name the record set exactly as it is.
  return rest.length === 0 ? set('DELETE', values, current!.ttl) : set('UPSERT', rest, current!.ttl);
}

/** Zone names that could hold `fqdn`, longest first: a.b.example.com → a.b.example.com., b.example.com., example.com. */
export function zoneCandidates(fqdn: string): string[] {
  const labels = absolute(fqdn).slice(0, -1).split('.');
  const out: string[] = [];
  for (let i = 0; i < labels.length - 1; i++) out.push(`${labels.slice(i).join('.')}.`);
  return out;
}

/** The public zone that holds `fqdn` among `zones`: the one with the longest matching name. */
export function pickHostedZone(zones: HostedZone[], fqdn: string): HostedZone | undefined {
  const candidates = zoneCandidates(fqdn);
  let best: HostedZone | undefined;
  let bestRank = Infinity;
  for (const z of zones) {
    if (!z.Name || z.Config?.PrivateZone) continue;
    const rank = candidates.indexOf(absolute(z.Name));
    if (rank >= 0 && rank < bestRank) {
      best = z;
      bestRank = rank;
    }
  }
  return best;
}

/** The current TXT record `fqdn` from a ListResourceRecordSets page starting at it. */
export function readTxtRecord(sets: ResourceRecordSet[] | undefined, fqdn: string): TxtRecord | undefined {
  const name = absolute(fqdn);
  const s = (sets ?? []).find(
    (r) => r.Type === 'TXT' && r.Name && absolute(r.Name.replace(/\\052/g, '*')) === name,
  );
  if (!s) return undefined;
  return { values: (s.ResourceRecords ?? []).map((r) => unquoteTxt(r.Value ?? '')), ttl: s.TTL ?? 60 };
}

export class Route53Dns implements DnsProvider {
  readonly #client: Route53Client;
  readonly #o: Route53Options;
  readonly #zones = new Map<string, string>();

  constructor(o: Route53Options = {}) {
    this.#o = o;
    // Route53 is a global service; the SDK still wants a region.
    this.#client = o.client ?? new Route53Client({ region: 'us-east-1' });
  }

  async setTxt(fqdn: string, value: string): Promise<void> {
    await this.#change(fqdn, { add: value });
  }

  async removeTxt(fqdn: string, value: string): Promise<void> {
    await this.#change(fqdn, { remove: value });
  }

  async #change(fqdn: string, change: { add: string } | { remove: string }): Promise<void> {
    const zoneId = await this.#zoneFor(fqdn);
    const page = await this.#aws(`read TXT ${fqdn}`, () =>
      this.#client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          StartRecordName: absolute(fqdn),
          StartRecordType: 'TXT',
          MaxItems: 1,
        }),
      ),
    );
    const batch = txtChangeBatch(
      fqdn,
      readTxtRecord(page.ResourceRecordSets, fqdn),
      change,
      this.#o.ttl ?? 60,
    );
    if (!batch) return;
    const res = await this.#aws(`change TXT ${fqdn}`, () =>
      this.#client.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: batch })),
    );
    await this.#waitInSync(fqdn, res.ChangeInfo?.Id, res.ChangeInfo?.Status);
  }

  async #zoneFor(fqdn: string): Promise<string> {
    if (this.#o.hostedZoneId) return this.#o.hostedZoneId;
    for (const name of zoneCandidates(fqdn)) {
      const known = this.#zones.get(name);
      if (known) return known;
      const res = await this.#aws(`find the hosted zone of ${fqdn}`, () =>
        this.#client.send(new ListHostedZonesByNameCommand({ DNSName: name, MaxItems: 5 })),
      );
      // The list starts at `name`; only an exact, public match will do.
      const zone = pickHostedZone(
        (res.HostedZones ?? []).filter((z) => absolute(z.Name ?? '') === name),
        fqdn,
      );
      if (zone?.Id) {
        this.#zones.set(name, zone.Id);
        return zone.Id;
      }
    }
    throw new OdpError('NOT_FOUND', `no public Route53 hosted zone holds ${fqdn}`, {
      hint: 'Create the zone in Route53, or give the provider its hostedZoneId.',
    });
  }

  async #waitInSync(fqdn: string, id: string | undefined, status: string | undefined): Promise<void> {
    if (!id || status === 'INSYNC') return;
    const timeout = this.#o.waitTimeoutMs ?? 180_000;
    const deadline = Date.now() + timeout;
    for (;;) {
      await new Promise((r) => setTimeout(r, this.#o.pollIntervalMs ?? 5_000));
      const res = await this.#aws(`wait for TXT ${fqdn}`, () =>
        this.#client.send(new GetChangeCommand({ Id: id })),
      );
      if (res.ChangeInfo?.Status === 'INSYNC') return;
      if (Date.now() > deadline) {
        throw new OdpError(
          'ENGINE',
          `Route53 did not apply the TXT record ${fqdn} within ${Math.round(timeout / 1000)} s`,
          {
            detail: `change ${id} is still ${res.ChangeInfo?.Status ?? 'unknown'}`,
          },
        );
      }
    }
  }

  async #aws<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof OdpError) throw e;
      const name = (e as { name?: string }).name ?? 'Error';
      throw new OdpError('ENGINE', `Route53: could not ${what}: ${name}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
}
