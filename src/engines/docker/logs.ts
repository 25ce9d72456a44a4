// Docker multiplexes stdout and stderr in one stream when a container has no
// TTY: 8-byte frame headers ([stream, 0, 0, 0, size32be]) before each chunk.
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';

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
