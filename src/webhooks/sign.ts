// Webhook signatures, GitHub's scheme: `sha256=<hex HMAC-SHA256 of the raw
// body>`. `odp publish` signs what it posts to `odp serve`, and the server
// checks it with the same code. Pure: no I/O, the secret never leaves here.
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
