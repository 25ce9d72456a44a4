// The shared services' lock (docs/decisions/0060): any number of operations on
// instances at once (shared), or one change of the shared services (exclusive:
// platform up and down, certificates) with none of them running. So `platform
// down` never runs under a deploy, and a deploy waits for `platform up` to end.
//
// A readers–writer lock in the state directory, on proper-lockfile:
//   locks/platform/mutex      held for a moment (proper-lockfile) by whoever reads or
//                             changes the two below
//   locks/platform/readers/   one file per shared holder
//   locks/platform/writer     the exclusive holder, or the one waiting for readers to end
// A writer waiting has its file written already, so no new reader enters: a stream
// of deploys cannot starve `platform up`. A holder's file names its process; one
// whose process is gone (same host) or that was not touched for STALE_MS is
// dropped by the next process that looks, so a killed holder blocks nobody.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { OdpError } from '../errors.js';
import { held, holding, type PlatformMode } from './lock-context.js';
import { stateDir } from './state-dir.js';
import { processAlive } from './process-alive.js';

/** A holder file not touched for this long belongs to a process that stopped (another host's, a reused pid). */
const STALE_MS = 30_000;
const TOUCH_MS = 5_000;
const POLL_MS = 250;

interface Holder {
  id: string;
  pid: number;
  host: string;
  since: string;
  /** The operation, in words (`deploy neomedical/test`). */
  what?: string;
}

export interface PlatformLockOptions {
  wait: boolean;
  /** How long to wait, when waiting. */
  waitMs?: number;
  onWait?: (holder: string) => void;
  what?: string;
}

export function platformLockDir(platformDir: string): string {
  return join(stateDir(platformDir), 'locks', 'platform');
}

/**
 * `body` under the platform lock. Held already by the caller: runs at once
 * (shared inside exclusive too); exclusive inside shared is refused, it would
 * wait for itself.
 */
export async function withPlatformLock<T>(
  platformDir: string,
  mode: PlatformMode,
  opts: PlatformLockOptions,
  body: () => Promise<T>,
): Promise<T> {
  const dir = platformLockDir(platformDir);
  const have = held().platform.get(dir);
  if (have === 'exclusive' || (have === 'shared' && mode === 'shared')) return body();
  if (have === 'shared') {
    throw new OdpError('INTERNAL', 'an operation on an instance cannot change the shared services', {
      hint: 'Run the change of the shared services on its own.',
    });
  }
  await mkdir(join(dir, 'readers'), { recursive: true });
  await writeFile(join(dir, 'mutex'), '', { flag: 'a' });
  const me: Holder = {
    id: `${process.pid}-${randomBytes(4).toString('hex')}`,
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    ...(opts.what ? { what: opts.what } : {}),
  };
  const file = mode === 'shared' ? join(dir, 'readers', me.id) : join(dir, 'writer');
  const deadline = Date.now() + (opts.waitMs ?? 30 * 60_000);
  let told = false;
  for (;;) {
    const blocker = await attempt(dir, mode, me);
    if (!blocker) break;
    if (!opts.wait || Date.now() > deadline) {
      if (mode === 'exclusive') await releaseWriter(dir, me);
      throw busy(blocker);
    }
    if (!told) opts.onWait?.(describe(blocker));
    told = true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  // Touched while held: a file left by a process that stopped goes stale.
  const timer = setInterval(() => void utimes(file, new Date(), new Date()).catch(() => undefined), TOUCH_MS);
  timer.unref();
  try {
    return await holding({ platform: dir, mode }, body);
  } finally {
    clearInterval(timer);
    if (mode === 'shared') await unlink(file).catch(() => undefined);
    else await releaseWriter(dir, me);
  }
}

interface Blocker {
  holder: Holder;
  mode: PlatformMode;
}

/** One look under the mutex: takes the lock (undefined) or says who is in the way. */
function attempt(dir: string, mode: PlatformMode, me: Holder): Promise<Blocker | undefined> {
  return withMutex(dir, async () => {
    const writer = await live(join(dir, 'writer'));
    if (writer && writer.id !== me.id) return { holder: writer, mode: 'exclusive' };
    if (mode === 'shared') {
      await writeFile(join(dir, 'readers', me.id), JSON.stringify(me));
      return undefined;
    }
    // Written (again) while waiting: from now on no new reader enters.
    await writeFile(join(dir, 'writer'), JSON.stringify(me));
    for (const n of await readdir(join(dir, 'readers'))) {
      const r = await live(join(dir, 'readers', n));
      if (r) return { holder: r, mode: 'shared' };
    }
    return undefined;
  });
}

function releaseWriter(dir: string, me: Holder): Promise<void> {
  return withMutex(dir, async () => {
    const w = await read(join(dir, 'writer'));
    if (w?.id === me.id) await unlink(join(dir, 'writer')).catch(() => undefined);
  });
}

async function withMutex<T>(dir: string, body: () => Promise<T>): Promise<T> {
  const release = await lockfile.lock(join(dir, 'mutex'), {
    realpath: false,
    stale: 10_000,
    retries: { retries: 1000, factor: 1, minTimeout: 20, maxTimeout: 40 },
  });
  try {
    return await body();
  } finally {
    await release();
  }
}

async function read(file: string): Promise<Holder | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Holder;
  } catch {
    return { id: '?', pid: 0, host: '', since: '' };
  }
}

/** The holder in `file`, unless its process is gone: then the file is removed. */
async function live(file: string): Promise<Holder | undefined> {
  const h = await read(file);
  if (!h) return undefined;
  const touched = await stat(file).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const gone = (h.host === hostname() && !processAlive(h.pid)) || Date.now() - touched > STALE_MS;
  if (!gone) return h;
  await unlink(file).catch(() => undefined);
  return undefined;
}

function describe(b: Blocker): string {
  const h = b.holder;
  const what = h.what ?? (b.mode === 'exclusive' ? 'changing the shared services' : 'an instance operation');
  return `pid ${h.pid} on ${h.host} since ${h.since} (${what})`;
}

function busy(b: Blocker): OdpError {
  return b.mode === 'exclusive'
    ? new OdpError('BUSY', `the shared services are being changed by ${describe(b)}`, {
        hint: 'Wait for it to finish (or run again without --no-wait to wait).',
      })
    : new OdpError('BUSY', `the shared services are in use by ${describe(b)}`, {
        hint: 'Wait for the operations on instances to finish (or run again without --no-wait to wait).',
      });
}
