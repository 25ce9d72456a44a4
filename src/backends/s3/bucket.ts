// Where backups live: buckets on the platform's S3-compatible storage, seen
// through what backups need and src/backends/s3's ObjectStorage does not offer:
// uploads streamed from a reader (multipart through lib-storage, a bounded
// number of parts in memory),
// downloads as streams, listing by prefix, deletes, and copies between two
// buckets that may belong to different accounts (server-side when one set of
// credentials reaches both, streamed through odp otherwise).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { OdpError } from '../../errors.js';
import type { Secret } from '../../secret.js';
import { errorName, httpStatus, s3Error } from './errors.js';

export interface BucketAccess {
  endpoint: string;
  region: string;
  accessKeyId: Secret;
  secretAccessKey: Secret;
}

export interface StoredObject {
  key: string;
  size: number;
  etag: string;
}

/**
 * A part of a multipart upload: S3 wants at least 5 MiB for every part but the
 * last, and at most 10,000 parts (so objects up to 156 GiB). At most
 * PARTS_IN_FLIGHT parts are being sent while the next one fills: an upload holds
 * about (PARTS_IN_FLIGHT + 1) × PART_SIZE = 48 MiB, whatever the object's size.
 */
const PART_SIZE = 16 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;
/** CopyObject's single-request limit; larger objects are streamed. */
const MAX_SERVER_COPY = 5 * 1024 ** 3;
const CONCURRENCY = 8;

export class Bucket {
  readonly #client: S3Client;
  readonly #access: BucketAccess;

  constructor(
    access: BucketAccess,
    readonly name: string,
  ) {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.#access = access;
    this.#client = new S3Client({
      endpoint: access.endpoint,
      region: access.region,
      forcePathStyle: true,
      credentials: {
        accessKeyId: access.accessKeyId.reveal(),
        secretAccessKey: access.secretAccessKey.reveal(),
      },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Bounded, but streams (a dump fed to pg_restore) may pause while the reader works.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 300_000 },
      maxAttempts: 3,
    });
  }

  get endpoint(): string {
    return this.#access.endpoint;
  }

  /** Whether one request can read `other` and write here: same endpoint, same credentials. */
  sameAccount(other: Bucket): boolean {
    const a = this.#access;
    const b = other.#access;
    return (
      a.endpoint === b.endpoint &&
      a.accessKeyId.equals(b.accessKeyId) &&
      a.secretAccessKey.equals(b.secretAccessKey)
    );
  }

  async ensure(region: string): Promise<'created' | 'unchanged'> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.name }));
      return 'unchanged';
    } catch (e) {
      if (httpStatus(e) !== 404) throw this.error(`HeadBucket ${this.name}`, e);
    }
    try {
      const location =
        region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } };
      await this.#client.send(new CreateBucketCommand({ Bucket: this.name, ...location }));
      return 'created';
    } catch (e) {
      if (errorName(e) === 'BucketAlreadyOwnedByYou') return 'unchanged';
      throw this.error(`CreateBucket ${this.name}`, e);
    }
  }

  /** Whether the bucket exists (false on 404). */
  async exists(): Promise<boolean> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.name }));
      return true;
    } catch (e) {
      if (httpStatus(e) === 404) return false;
      throw this.error(`HeadBucket ${this.name}`, e);
    }
  }

  /** Every object under `prefix`, page by page. */
  async *list(prefix = ''): AsyncGenerator<StoredObject> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.name,
            ...(prefix ? { Prefix: prefix } : {}),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (e) {
        throw this.error(`ListObjectsV2 ${this.name}/${prefix}`, e);
      }
      for (const o of page.Contents ?? [])
        if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '' };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** The "folders" right under `prefix` (which ends with `/`), without it and the trailing slash. */
  async folders(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.name,
            Prefix: prefix,
            Delimiter: '/',
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (e) {
        throw this.error(`ListObjectsV2 ${this.name}/${prefix}`, e);
      }
      for (const p of page.CommonPrefixes ?? [])
        if (p.Prefix) out.push(p.Prefix.slice(prefix.length).replace(/\/$/, ''));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** The object's size, or undefined when there is none. */
  async head(key: string): Promise<number | undefined> {
    try {
      const r = await this.#client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return r.ContentLength ?? 0;
    } catch (e) {
      if (httpStatus(e) === 404 || errorName(e) === 'NotFound' || errorName(e) === 'NoSuchKey')
        return undefined;
      throw this.error(`HeadObject ${this.name}/${key}`, e);
    }
  }

  async read(key: string): Promise<{ body: Readable; size: number }> {
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      return { body: r.Body as Readable, size: r.ContentLength ?? 0 };
    } catch (e) {
      if (errorName(e) === 'NoSuchKey' || httpStatus(e) === 404)
        throw new OdpError('NOT_FOUND', `no object ${this.name}/${key} at ${this.endpoint}`, { cause: e });
      throw this.error(`GetObject ${this.name}/${key}`, e);
    }
  }

  async readJson<T>(key: string): Promise<T> {
    const { body } = await this.read(key);
    const chunks: Buffer[] = [];
    try {
      for await (const c of body) chunks.push(c as Buffer);
    } catch (e) {
      throw this.error(`GetObject ${this.name}/${key}`, e);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
    } catch (e) {
      throw new OdpError('ENGINE', `${this.name}/${key} is not valid JSON`, { cause: e });
    }
  }

  async writeJson(key: string, value: unknown): Promise<void> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.name,
          Key: key,
          Body: `${JSON.stringify(value, null, 2)}\n`,
          ContentType: 'application/json',
        }),
      );
    } catch (e) {
      throw this.error(`PutObject ${this.name}/${key}`, e);
    }
  }

  /**
   * Uploads what `source` yields: a small object in one request, a larger one in
   * parts of PART_SIZE (lib-storage's `Upload`). `beforeComplete` runs once the
   * source ended and before the object is made visible: when it throws, the
   * upload is abandoned and no object appears. `onBytes` is told how many bytes
   * were read so far. Returns the byte count and the SHA-256 of the content.
   */
  async upload(
    key: string,
    source: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>,
    o: { contentType?: string; beforeComplete?: () => Promise<void>; onBytes?: (n: number) => void } = {},
  ): Promise<{ bytes: number; sha256: string }> {
    const hash = createHash('sha256');
    let bytes = 0;
    // What the source or beforeComplete threw: reported as it is, not as an S3 failure.
    let ownError: { e: unknown } | undefined;
    async function* measured(): AsyncGenerator<Buffer> {
      try {
        for await (const c of source) {
          const b =
            typeof c === 'string' ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
          hash.update(b);
          bytes += b.length;
          o.onBytes?.(bytes);
          yield b;
        }
        // Upload sends the last part (or the one PutObject) only after the body ends.
        await o.beforeComplete?.();
      } catch (e) {
        ownError = { e };
        throw e;
      }
    }
    const body = Readable.from(measured(), { objectMode: false, highWaterMark: 1024 * 1024 });
    const upload = new Upload({
      client: this.#client,
      params: {
        Bucket: this.name,
        Key: key,
        Body: body,
        ContentType: o.contentType ?? 'application/octet-stream',
      },
      partSize: PART_SIZE,
      queueSize: PARTS_IN_FLIGHT,
      // odp aborts itself (below): lib-storage's own abort would replace the
      // first error with the abort's when the server does not implement it.
      leavePartsOnError: true,
    });
    try {
      await upload.done();
    } catch (e) {
      // done() settles after every part request settled: nothing is sent after the abort.
      body.destroy();
      if (upload.uploadId) {
        // Best effort: not every S3-compatible server implements it; its parts stay invisible anyway.
        await this.#client
          .send(new AbortMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: upload.uploadId }))
          .catch(() => undefined);
      }
      if (ownError) throw ownError.e;
      throw this.error(`upload ${this.name}/${key}`, e);
    }
    return { bytes, sha256: hash.digest('hex') };
  }

  /** Copies `from`'s object here: server-side when one account reaches both, else streamed through odp. */
  async copyFrom(from: Bucket, source: StoredObject, key: string): Promise<void> {
    if (this.sameAccount(from) && source.size <= MAX_SERVER_COPY) {
      const path = `${from.name}/${source.key.split('/').map(encodeURIComponent).join('/')}`;
      try {
        await this.#client.send(new CopyObjectCommand({ Bucket: this.name, Key: key, CopySource: path }));
      } catch (e) {
        throw this.error(`CopyObject ${from.name}/${source.key} → ${this.name}/${key}`, e);
      }
      return;
    }
    const { body } = await from.read(source.key);
    try {
      await this.upload(key, body);
    } finally {
      body.destroy();
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.name, Key: key }));
    } catch (e) {
      throw this.error(`DeleteObject ${this.name}/${key}`, e);
    }
  }

  /** Deletes every object under `prefix`; returns how many. */
  async deletePrefix(prefix: string): Promise<number> {
    const keys: string[] = [];
    for await (const o of this.list(prefix)) keys.push(o.key);
    await inParallel(keys, (k) => this.delete(k));
    return keys.length;
  }

  close(): void {
    this.#client.destroy();
  }

  private error(what: string, e: unknown): OdpError {
    return s3Error(what, this.endpoint, e);
  }
}

/** Runs `fn` on every item, a few at a time; the first failure stops new ones and is thrown once all settled. */
export async function inParallel<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let failure: unknown;
  let next = 0;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      await fn(item).catch((e: unknown) => {
        failure ??= e;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  if (failure !== undefined) throw failure;
}
