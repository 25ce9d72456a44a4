// Object storage: the only module that talks to it (the AWS SDK v3). Any
// S3-compatible endpoint works the same way: AWS, Exoscale SOS, MinIO, or the
// embedded s3rver. Path-style addressing (`endpoint/bucket/key`), because
// third-party endpoints and container aliases (`s3:4569`) have no wildcard DNS
// for `bucket.endpoint`.
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { OdpError } from '../../errors.js';
import type { Secret } from '../../secret.js';
import { errorName, httpStatus, s3Error } from './errors.js';

export interface S3Config {
  endpoint: string;
  region: string;
  accessKeyId: Secret;
  secretAccessKey: Secret;
}

export type BucketChange = 'created' | 'unchanged';

/** CopyObject's single-request limit; larger objects need a multipart copy. */
const MAX_SINGLE_COPY = 5 * 1024 ** 3;
const COPY_CONCURRENCY = 8;

export class ObjectStorage {
  readonly #client: S3Client;
  readonly endpoint: string;
  readonly region: string;

  constructor(cfg: S3Config) {
    // Node 20 is odp's runtime (the machines' own). The SDK warns on every process
    // that its releases after January 2027 will need Node 22; that belongs in the
    // dependency upgrade, not on the stderr of every `odp` command. Set the
    // variable to `false` to see it again.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.endpoint = cfg.endpoint;
    this.region = cfg.region;
    this.#client = new S3Client({
      endpoint: cfg.endpoint,
      region: cfg.region,
      forcePathStyle: true,
      credentials: { accessKeyId: cfg.accessKeyId.reveal(), secretAccessKey: cfg.secretAccessKey.reveal() },
      // The SDK's default CRC checksums (aws-chunked uploads with trailers) are not
      // understood by every S3-compatible server; send them only where S3 requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Bounded: an endpoint that does not answer fails the call instead of hanging it.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
      maxAttempts: 3,
    });
  }

  /** Creates the bucket unless it exists (and is ours). */
  async ensureBucket(bucket: string): Promise<BucketChange> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: bucket }));
      return 'unchanged';
    } catch (e) {
      if (httpStatus(e) !== 404) throw this.error(`HeadBucket ${bucket}`, e);
    }
    try {
      // Outside us-east-1, AWS wants the region said again; other endpoints accept it.
      const location =
        this.region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: this.region as BucketLocationConstraint } };
      await this.#client.send(new CreateBucketCommand({ Bucket: bucket, ...location }));
      return 'created';
    } catch (e) {
      if (errorName(e) === 'BucketAlreadyOwnedByYou') return 'unchanged'; // created meanwhile
      throw this.error(`CreateBucket ${bucket}`, e);
    }
  }

  async putObject(bucket: string, key: string, body: Buffer | string, contentType?: string): Promise<void> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ...(contentType ? { ContentType: contentType } : {}),
        }),
      );
    } catch (e) {
      throw this.error(`PutObject ${bucket}/${key}`, e);
    }
  }

  async getObject(bucket: string, key: string): Promise<Buffer> {
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!r.Body) return Buffer.alloc(0);
      return Buffer.from(await r.Body.transformToByteArray());
    } catch (e) {
      if (errorName(e) === 'NoSuchKey' || httpStatus(e) === 404)
        throw new OdpError('NOT_FOUND', `no object ${bucket}/${key} at ${this.endpoint}`, { cause: e });
      throw this.error(`GetObject ${bucket}/${key}`, e);
    }
  }

  /** Every key of the bucket, page by page. */
  async *keys(bucket: string): AsyncGenerator<{ key: string; size: number }> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }),
        );
      } catch (e) {
        throw this.error(`ListObjectsV2 ${bucket}`, e);
      }
      for (const o of page.Contents ?? []) if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0 };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Copies every object of `from` into `to` (created if missing), server-side:
   * the data does not pass through odp. Objects already in `to` under the same
   * key are overwritten. For `db clone`, which copies prod's attachments.
   */
  async copyBucket(from: string, to: string): Promise<{ copied: number; bytes: number }> {
    await this.ensureBucket(to);
    let copied = 0;
    let bytes = 0;
    // A few copies at a time; the first failure stops new ones, and the copies
    // already running settle before it is thrown (no rejection left unhandled).
    let failure: unknown;
    const running = new Set<Promise<void>>();
    for await (const o of this.keys(from)) {
      if (o.size > MAX_SINGLE_COPY)
        failure ??= new OdpError(
          'ENGINE',
          `${from}/${o.key} is larger than 5 GiB: a single-request copy cannot take it`,
        );
      if (failure !== undefined) break;
      const tracked: Promise<void> = this.copyObject(from, to, o.key)
        .then(
          () => {
            copied += 1;
            bytes += o.size;
          },
          (e: unknown) => {
            failure ??= e;
          },
        )
        .finally(() => running.delete(tracked));
      running.add(tracked);
      if (running.size >= COPY_CONCURRENCY) await Promise.race(running);
    }
    await Promise.all(running);
    if (failure !== undefined) throw failure;
    return { copied, bytes };
  }

  private async copyObject(from: string, to: string, key: string): Promise<void> {
    try {
      // CopySource is a URL path: each key segment percent-encoded, slashes kept.
      const source = `${from}/${key.split('/').map(encodeURIComponent).join('/')}`;
      await this.#client.send(new CopyObjectCommand({ Bucket: to, Key: key, CopySource: source }));
    } catch (e) {
      throw this.error(`CopyObject ${from}/${key} → ${to}`, e);
    }
  }

  /** Closes the client's sockets. */
  close(): void {
    this.#client.destroy();
  }

  private error(what: string, e: unknown): OdpError {
    return s3Error(what, this.endpoint, e);
  }
}
