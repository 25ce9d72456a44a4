// Docker multiplexes stdout and stderr in one stream when a container has no
// TTY: 8-byte frame headers ([stream, 0, 0, 0, size32be]) before each chunk.
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';

export function demuxBuffer(buf: Buffer): string {
  const out: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  // A TTY container's logs have no headers at all.
  return i === 0 && buf.length > 0 ? buf.toString('utf8') : Buffer.concat(out).toString('utf8');
}

export function demuxStream(docker: Dockerode, stream: NodeJS.ReadableStream): NodeJS.ReadableStream {
  const out = new PassThrough();
  docker.modem.demuxStream(stream, out, out);
  stream.on('end', () => out.end());
  stream.on('error', (e) => out.destroy(e));
  return out;
}

/** `--since 10m`, `2h`, `30s`, or anything Date understands. Returns unix seconds. */
export function parseSince(since: string): number {
  const m = /^(\d+)([smhd])$/.exec(since.trim());
  if (m) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
    return Math.floor(Date.now() / 1000) - Number(m[1]) * unit;
  }
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new OdpError('USAGE', `--since "${since}": expected 10m, 2h, 1d or a date`);
  return Math.floor(t / 1000);
}
