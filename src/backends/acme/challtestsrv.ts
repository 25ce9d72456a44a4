// DNS-01 against pebble-challtestsrv, Let's Encrypt's test DNS server: Pebble
// queries it (`pebble -dnsserver`), and its management API sets and clears TXT
// records. For tests and local trials; it answers every A query with one address.
import { OdpError } from '../../errors.js';
import type { DnsProvider } from './types.js';

export class ChallTestSrvDns implements DnsProvider {
  /** managementUrl: e.g. http://127.0.0.1:8055 */
  constructor(readonly managementUrl: string) {}

  async setTxt(fqdn: string, value: string): Promise<void> {
    await this.#post('/set-txt', { host: absolute(fqdn), value });
  }

  /** Clears every value of the name: challtestsrv offers no finer removal. */
  async removeTxt(fqdn: string, _value: string): Promise<void> {
    await this.#post('/clear-txt', { host: absolute(fqdn) });
  }

  async #post(path: string, body: object): Promise<void> {
    const url = new URL(path, this.managementUrl);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      throw new OdpError(
        'ENGINE',
        `pebble-challtestsrv at ${url.origin} is unreachable: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    if (!res.ok) {
      throw new OdpError(
        'ENGINE',
        `pebble-challtestsrv refused ${path}: HTTP ${res.status} ${await res.text()}`,
      );
    }
  }
}

const absolute = (name: string) => (name.endsWith('.') ? name : `${name}.`);
