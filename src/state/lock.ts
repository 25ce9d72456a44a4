// One operation per instance at a time. A lock file per instance in the
// platform's state directory, held with proper-lockfile (refreshed while held,
// taken over when its holder died). The second deploy waits for the first, or
// with wait=false stops at once with a clear message. An instance's lock is
// taken under the platform lock, shared (platform-lock.ts): the shared services
// do not change under an operation on an instance.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { OdpError } from '../errors.js';
import { held, holding } from './lock-context.js';
import { withPlatformLock } from './platform-lock.js';
import { stateDir } from './state-dir.js';

export { stateDir } from './state-dir.js';

export interface LockOptions {
  wait: boolean;
  /** How long to wait for the holder, when waiting. */
  waitMs?: number;
  onWait?: (holder: string) => void;
  /** The operation, in words, for whoever waits for it. */
  what?: string;
  /** `none`: a lock that is not an instance's (the ACME account's): no platform lock. */
  platform?: 'shared' | 'none';
}

/**
 * `body` under the lock `key` (`<project>-<instance>`), and the platform lock
 * shared, always taken first: one order, so no two operations wait for each
 * other. A lock the calling operation holds is held for `body` already.
 */
export async function withInstanceLock<T>(
  platformDir: string,
  key: string,
  opts: LockOptions,
  body: () => Promise<T>,
): Promise<T> {
  const dir = join(stateDir(platformDir), 'locks');
  const file = join(dir, `${key}.lock`);
  if (held().files.has(file)) return body();
  const locked = () => lockFile(dir, file, key, opts, () => holding({ file }, body));
  if (opts.platform === 'none') return locked();
  return withPlatformLock(platformDir, 'shared', opts, locked);
}

async function lockFile<T>(
  dir: string,
  file: string,
  key: string,
  opts: LockOptions,
  body: () => Promise<T>,
): Promise<T> {
  await mkdir(dir, { recursive: true });
  const info = `${file}.holder`;
  await writeFile(file, '', { flag: 'a' });
  const deadline = Date.now() + (opts.waitMs ?? 30 * 60_000);
  let release: (() => Promise<void>) | undefined;
  let told = false;
  while (!release) {
    try {
      release = await lockfile.lock(file, { stale: 15_000, update: 5_000, realpath: false });
    } catch (e) {
      if ((e as { code?: string }).code !== 'ELOCKED') throw e;
      const holder = (await readFile(info, 'utf8').catch(() => '')).trim() || 'another odp process';
      if (!opts.wait || Date.now() > deadline) {
        throw new OdpError('BUSY', `${key} is being changed by ${holder}`, {
          hint: 'Wait for it to finish (or run again without --no-wait to wait).',
        });
      }
      if (!told) opts.onWait?.(holder);
      told = true;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await writeFile(info, `pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}\n`);
  try {
    return await body();
  } finally {
    await release();
  }
}

/**
 * `body` under the instance's lock, waiting for the holder unless told not to;
 * a dry run reads only and takes no lock.
 */
export function lockedUnlessDryRun<T>(
  platformDir: string,
  key: string,
  o: { dryRun?: boolean; wait?: boolean; progress: { note(text: string): void } },
  body: () => Promise<T>,
): Promise<T> {
  if (o.dryRun) return body();
  return withInstanceLock(
    platformDir,
    key,
    { wait: o.wait ?? true, onWait: (h) => o.progress.note(`waiting for ${h}`) },
    body,
  );
}
