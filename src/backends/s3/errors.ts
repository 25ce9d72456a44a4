// How the AWS SDK's errors are read, and turned into odp's: shared by the
// object-storage client and the backups bucket.
import { OdpError } from '../../errors.js';

export function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export function errorName(e: unknown): string {
  return e instanceof Error ? e.name : 'Error';
}

/** SDK errors carry the service's code and message, never the credentials. */
export function s3Error(what: string, endpoint: string, e: unknown): OdpError {
  const status = httpStatus(e);
  return new OdpError(
    'ENGINE',
    `S3 ${what} at ${endpoint} failed: ${errorName(e)}${status ? ` (HTTP ${status})` : ''}: ${
      e instanceof Error ? e.message : String(e)
    }`,
    { cause: e },
  );
}
