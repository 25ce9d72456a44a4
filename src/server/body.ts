// Reading a webhook's body with a limit. A body over the limit is still read
// (and thrown away) up to a bound before the 413 is sent: a server that
// answers and closes while the client is still writing makes the kernel reset
// the connection, and the client sees a reset instead of its 413. A client
// that keeps sending past the bound (or for longer than the drain time) gets
// the 413 and the close anyway: it is not worth more of the server's time.
import type { IncomingMessage } from 'node:http';

export interface BodyLimits {
  /** Largest body accepted. */
  limit: number;
  /** Bytes over the limit read and discarded before answering 413 (default 8 MiB). */
  drain?: number;
  /** How long the discarding may take (default 10 s). */
  drainMs?: number;
}

export type Body = Buffer | 'too-large';

/** The body, or 'too-large' once the rest of an oversize one is drained (or the drain bound is hit). */
export function readBody(req: IncomingMessage, o: BodyLimits): Promise<Body> {
  const drain = o.drain ?? 8 * 1024 * 1024;
  const drainMs = o.drainMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (b: Body | Error) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (b instanceof Error) reject(b);
      else resolve(b);
    };
    const tooLarge = () => {
      if (timer) return;
      chunks.length = 0; // nothing of an oversize body is kept
      timer = setTimeout(() => settle('too-large'), drainMs);
      timer.unref();
    };
    // A declared length over the limit is refused without keeping anything.
    if (Number(req.headers['content-length'] ?? 0) > o.limit) tooLarge();
    req.on('data', (c: Buffer) => {
      if (settled) return;
      size += c.length;
      if (size > o.limit) tooLarge();
      if (timer) {
        if (size > o.limit + drain) settle('too-large');
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => settle(timer ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', settle);
    // A client that goes away mid-body: nothing to answer (a no-op once the body is read).
    req.on('close', () => settle(new Error('the client closed the connection before sending its body')));
  });
}
