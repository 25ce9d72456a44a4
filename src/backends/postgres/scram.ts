// SCRAM-SHA-256 verifiers, computed here so a role's password never reaches the
// server in clear text: `ALTER ROLE … PASSWORD 'SCRAM-SHA-256$…'` stores the
// verifier as given (what psql's \password does), so no statement log, no
// pg_stat_activity row and no error message can ever show the password itself.
// Checking a stored verifier against a password lets provisioning say
// "unchanged" without rewriting the role on every run.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** PostgreSQL's default (scram_iterations). */
const ITERATIONS = 4096;

function keys(password: string, salt: Buffer, iterations: number): { storedKey: Buffer; serverKey: Buffer } {
  // PostgreSQL applies SASLprep first, which leaves printable ASCII unchanged;
  // NFKC is the part of it that matters for other generated or typed passwords.
  const salted = pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return {
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: createHmac('sha256', salted).update('Server Key').digest(),
  };
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, as pg_authid stores it. */
export function scramVerifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = ITERATIONS,
): string {
  const { storedKey, serverKey } = keys(password, salt, iterations);
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Whether `verifier` (from pg_authid.rolpassword) accepts `password`; false for md5 or no password. */
export function verifierMatches(verifier: string | null, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier ?? '');
  if (!m) return false;
  const { storedKey, serverKey } = keys(password, Buffer.from(m[2]!, 'base64'), Number(m[1]));
  const stored = Buffer.from(m[3]!, 'base64');
  const server = Buffer.from(m[4]!, 'base64');
  return (
    stored.length === storedKey.length &&
    server.length === serverKey.length &&
    timingSafeEqual(stored, storedKey) &&
    timingSafeEqual(server, serverKey)
  );
}
