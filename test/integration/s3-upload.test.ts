// Bucket.upload (lib-storage's Upload underneath) against a small fake S3 on
// loopback that records every request: what is sent for a small and a large
// object, that parts stream (the source is not read to its end before the first
// part leaves) with a bounded number in flight, and that every failure (the
// source's, beforeComplete's, the server's) leaves no multipart upload behind
// and reports the first error, not the abort's.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { Bucket } from '../../src/backends/s3/bucket.js';
import { OdpError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';

const MiB = 1024 * 1024;

interface Seen {
  op: 'PutObject' | 'Create' | 'UploadPart' | 'Complete' | 'Abort';
  part?: number;
  bytes?: number;
}

/** What the fake server saw, and how it is told to fail. */
const s3 = {
  seen: [] as Seen[],
  objects: new Map<string, Buffer>(),
  parts: new Map<number, Buffer>(),
  inFlight: 0,
  maxInFlight: 0,
  failPart: undefined as number | undefined,
  abortNotImplemented: false,
  /** Bytes the test's source had produced when the first part arrived. */
  onFirstPart: undefined as (() => void) | undefined,
};

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const key = decodeURIComponent(url.pathname.split('/').slice(2).join('/'));
  const q = url.searchParams;
  const xml = (status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
  };
  const isPart = req.method === 'PUT' && q.has('partNumber');
  if (isPart) {
    s3.inFlight++;
    s3.maxInFlight = Math.max(s3.maxInFlight, s3.inFlight);
    if (s3.parts.size === 0 && s3.seen.every((s) => s.op !== 'UploadPart')) s3.onFirstPart?.();
  }
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  if (isPart) s3.inFlight--;

  if (req.method === 'PUT' && isPart) {
    const part = Number(q.get('partNumber'));
    s3.seen.push({ op: 'UploadPart', part, bytes: body.length });
    if (part === s3.failPart)
      return xml(403, '<Error><Code>AccessDenied</Code><Message>part refused</Message></Error>');
    s3.parts.set(part, body);
    res.writeHead(200, { etag: `"etag-${part}"` });
    return void res.end();
  }
  if (req.method === 'PUT') {
    s3.seen.push({ op: 'PutObject', bytes: body.length });
    s3.objects.set(key, body);
    res.writeHead(200, { etag: '"single"' });
    return void res.end();
  }
  if (req.method === 'POST' && q.has('uploads')) {
    s3.seen.push({ op: 'Create' });
    return xml(
      200,
      `<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>`,
    );
  }
  if (req.method === 'POST' && q.has('uploadId')) {
    s3.seen.push({ op: 'Complete' });
    const numbers = [...body.toString().matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) =>
      Number(m[1]),
    );
    s3.objects.set(key, Buffer.concat(numbers.map((n) => s3.parts.get(n)!)));
    return xml(200, `<CompleteMultipartUploadResult><ETag>"multi"</ETag></CompleteMultipartUploadResult>`);
  }
  if (req.method === 'DELETE' && q.has('uploadId')) {
    s3.seen.push({ op: 'Abort' });
    if (s3.abortNotImplemented)
      return xml(501, '<Error><Code>NotImplemented</Code><Message>no abort here</Message></Error>');
    res.writeHead(204);
    return void res.end();
  }
  xml(400, '<Error><Code>BadRequest</Code><Message>unexpected</Message></Error>');
}

let server: Server;
let bucket: Bucket;

before(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  bucket = new Bucket(
    {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      accessKeyId: new Secret('test-key'),
      secretAccessKey: new Secret('test-secret'),
    },
    'backups',
  );
});

after(() => {
  bucket.close();
  server.close();
});

beforeEach(() => {
  s3.seen = [];
  s3.objects.clear();
  s3.parts.clear();
  s3.maxInFlight = 0;
  s3.failPart = undefined;
  s3.abortNotImplemented = false;
  s3.onFirstPart = undefined;
});

/** `total` bytes in 1 MiB chunks of a repeating pattern, made as they are read. */
function* pattern(total: number, read: { bytes: number } = { bytes: 0 }): Generator<Buffer> {
  for (let off = 0; off < total; off += MiB) {
    const b = Buffer.alloc(Math.min(MiB, total - off), off / MiB);
    read.bytes += b.length;
    yield b;
  }
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ops = () => s3.seen.map((s) => s.op);

test('a small object: one PutObject, with its size and SHA-256', async () => {
  const r = await bucket.upload('p/db.dump', ['hello ', Buffer.from('world')]);
  assert.deepEqual(ops(), ['PutObject']);
  assert.equal(s3.objects.get('p/db.dump')?.toString(), 'hello world');
  assert.deepEqual(r, { bytes: 11, sha256: sha256(Buffer.from('hello world')) });
});

test('an empty source: one empty PutObject', async () => {
  const r = await bucket.upload('p/empty', []);
  assert.deepEqual(s3.seen, [{ op: 'PutObject', bytes: 0 }]);
  assert.equal(r.bytes, 0);
});

test('a 40 MiB stream: 16 MiB parts, at most 2 in flight, read as it is sent, told as it is read', async () => {
  const read = { bytes: 0 };
  let readAtFirstPart = -1;
  s3.onFirstPart = () => (readAtFirstPart = read.bytes);
  const told: number[] = [];
  const r = await bucket.upload('p/big', pattern(40 * MiB, read), { onBytes: (n) => told.push(n) });
  assert.deepEqual(ops(), ['Create', 'UploadPart', 'UploadPart', 'UploadPart', 'Complete']);
  // By part number: with two in flight, the short last part may arrive before the second.
  assert.deepEqual(
    [...s3.parts.entries()].sort(([a], [b]) => a - b).map(([, b]) => b.length),
    [16 * MiB, 16 * MiB, 8 * MiB],
  );
  assert.ok(s3.maxInFlight <= 2, `${s3.maxInFlight} parts in flight`);
  assert.ok(
    readAtFirstPart < 40 * MiB,
    `the whole source was read (${readAtFirstPart}) before the first part`,
  );
  const whole = Buffer.concat([...pattern(40 * MiB)]);
  assert.ok(s3.objects.get('p/big')?.equals(whole));
  assert.deepEqual(r, { bytes: 40 * MiB, sha256: sha256(whole) });
  assert.equal(told.at(-1), 40 * MiB);
});

test('beforeComplete throws on a small object: nothing is stored, its error is reported', async () => {
  const refused = new Error('pg_dump exited with code 1');
  await assert.rejects(
    bucket.upload('p/small', ['x'], { beforeComplete: () => Promise.reject(refused) }),
    (e) => e === refused,
  );
  assert.deepEqual(ops(), []);
});

test('beforeComplete throws on a multipart upload: aborted, never completed, its error is reported', async () => {
  const refused = new Error('pg_dump exited with code 1');
  await assert.rejects(
    bucket.upload('p/big', pattern(20 * MiB), { beforeComplete: () => Promise.reject(refused) }),
    (e) => e === refused,
  );
  assert.deepEqual(ops(), ['Create', 'UploadPart', 'Abort']);
  assert.ok(!s3.objects.has('p/big'));
});

test('the source fails midway: aborted, and the source error is reported even when Abort is not implemented', async () => {
  s3.abortNotImplemented = true;
  const broken = new Error('the dump stream broke');
  async function* source() {
    yield* pattern(20 * MiB);
    throw broken;
  }
  await assert.rejects(bucket.upload('p/big', source()), (e) => e === broken);
  assert.equal(ops().at(-1), 'Abort');
  assert.ok(!ops().includes('Complete'));
  assert.ok(!s3.objects.has('p/big'));
});

test('the server refuses a part: aborted, reported as an S3 failure naming the object', async () => {
  s3.failPart = 2;
  await assert.rejects(bucket.upload('p/big', pattern(40 * MiB)), (e) => {
    assert.ok(e instanceof OdpError, String(e));
    assert.equal(e.code, 'ENGINE');
    assert.match(e.message, /S3 upload backups\/p\/big at http:\/\/127\.0\.0\.1:\d+ failed: AccessDenied/);
    assert.ok(!e.message.includes('test-secret'));
    return true;
  });
  assert.equal(ops().at(-1), 'Abort');
  assert.ok(!ops().includes('Complete'));
});
