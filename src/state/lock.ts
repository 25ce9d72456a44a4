// One operation per instance at a time. A lock file per instance in the
// platform's state directory, held with proper-lockfile (refreshed while held,
// taken over when its holder died). The second deploy waits for the first, or
// with wait=false stops at once with a clear message.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { OdpError } from '../errors.js';

export function stateDir(platformDir: string): string {
  return process.env.ODP_STATE_DIR ?? join(platformDir, '.odp-state');
}

export interface LockOptions {
  wait: boolean;
  /** How long to wait for the holder, when waiting. */
  waitMs?: number;
  onWait?: (holder: string) => void;
}

export async function withInstanceLock<T>(
  platformDir: string,
  key: string,
  opts: LockOptions,
  body: () => Promise<T>,
): Promise<T> {
  const dir = join(stateDir(platformDir), 'locks');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${key}.lock`);
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
