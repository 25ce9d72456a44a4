// Webhook signatures. GitHub's scheme: `sha256=<hex HMAC-SHA256 of the raw
// body>`, which leaves the delivery id and the time unsigned. `odp publish`
// signs what it posts to `odp serve` with its own scheme that covers both (a
// captured notice cannot be sent again later, nor under another id), and the
// server checks it with the same code. Pure: no I/O, the secret never leaves here.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { OdpError } from '../errors.js';
import type { Secret } from '../secret.js';

const PREFIX = 'sha256=';
const HEX64 = /^[0-9a-f]{64}$/;

function key(secret: Secret | string): string {
  return typeof secret === 'string' ? secret : secret.reveal();
}

/** The header value for `body`: `sha256=` and 64 lower-case hex digits. */
export function signBody(secret: Secret | string, body: string | Buffer): string {
  const k = key(secret);
  // verifySignature refuses an empty secret, so a signature made with one is useless.
  if (k === '') throw new OdpError('USAGE', 'the webhook secret is empty');
  return PREFIX + createHmac('sha256', k).update(body).digest('hex');
}

/**
 * True only when `header` is exactly the signature of `body` under `secret`.
 * The comparison is on the raw digest bytes and takes the same time whatever
 * the first differing byte, so a caller cannot guess the digest byte by byte.
 * A missing, malformed or wrongly prefixed header is simply false; so is an
 * empty secret, which would make every unsigned sender's guess easy.
 */
export function verifySignature(
  secret: Secret | string,
  body: string | Buffer,
  header: string | string[] | undefined,
): boolean {
  if (typeof header !== 'string' || !header.startsWith(PREFIX)) return false;
  const given = header.slice(PREFIX.length).toLowerCase();
  if (!HEX64.test(given)) return false;
  const k = key(secret);
  if (k === '') return false;
  const expected = createHmac('sha256', k).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

// ---- `odp publish` → `odp serve`: the delivery id and time are signed too ----

/** `t=<unix seconds>,id=<delivery id>,sha256=<hex>`: the HMAC of `t \n id \n body`. */
export const PUBLISH_SIGNATURE_HEADER = 'x-odp-signature';
/** The delivery ids both sides accept: no separator of the signed input can occur in one. */
export const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const PUBLISH_HEADER = /^t=(\d{1,12}),id=([A-Za-z0-9._:-]{1,128}),sha256=([0-9a-fA-F]{64})$/;

function deliveryMac(k: string, t: number, id: string, body: string | Buffer): Buffer {
  // Newlines never occur in a time or an id, so no two (t, id, body) give the same input.
  return createHmac('sha256', k).update(`${t}\n${id}\n`).update(body).digest();
}

/** The `X-Odp-Signature` value for a delivery `id` sent at `atMs`. */
export function signDelivery(
  secret: Secret | string,
  body: string | Buffer,
  d: { id: string; atMs: number },
): string {
  const k = key(secret);
  if (k === '') throw new OdpError('USAGE', 'the webhook secret is empty');
  if (!DELIVERY_ID.test(d.id))
    throw new OdpError('USAGE', `delivery id ${JSON.stringify(d.id)} is malformed`);
  const t = Math.floor(d.atMs / 1000);
  return `t=${t},id=${d.id},sha256=${deliveryMac(k, t, d.id, body).toString('hex')}`;
}

export type DeliveryCheck =
  | { outcome: 'ok'; id: string; t: number }
  /** Missing, malformed, or not this body's, time's and id's signature. */
  | { outcome: 'unsigned' }
  /** Signed, but sent outside the window around `now`: a replay, or a clock far off. */
  | { outcome: 'stale'; id: string; reason: string };

/**
 * Checks a publish notice's signature header. The signature is checked before
 * the time, so an unsigned sender never learns what the server's clock says.
 */
export function verifyDelivery(
  secret: Secret | string,
  body: string | Buffer,
  header: string | string[] | undefined,
  o: { now: number; windowMs: number },
): DeliveryCheck {
  if (typeof header !== 'string') return { outcome: 'unsigned' };
  const m = PUBLISH_HEADER.exec(header);
  const k = key(secret);
  if (!m || k === '') return { outcome: 'unsigned' };
  const t = Number(m[1]);
  const id = m[2]!;
  const expected = deliveryMac(k, t, id, body);
  if (!timingSafeEqual(expected, Buffer.from(m[3]!, 'hex'))) return { outcome: 'unsigned' };
  const skew = o.now - t * 1000;
  if (Math.abs(skew) > o.windowMs) {
    const age = Math.round(skew / 1000);
    return {
      outcome: 'stale',
      id,
      reason:
        `the notice was signed ${Math.abs(age)} s ${age > 0 ? 'ago' : 'in the future'}, ` +
        `outside the ${Math.round(o.windowMs / 1000)} s window: refused as a replay (check both clocks)`,
    };
  }
  return { outcome: 'ok', id, t };
}
