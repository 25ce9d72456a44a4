// Crash-safe file replacement. Readers (and a crash at any instant) see either
// the old file or the new one, never a torn mix: the data goes to a temp file
// in the same directory (rename is only atomic within one filesystem), is
// fsynced, renamed over the target, and the directory entry is fsynced too.
import { randomBytes } from 'node:crypto';
import { open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Exact permission bits of the new file; default: keep the target's, else 0o666 minus umask. */
  mode?: number;
}

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  // Write through a symlink to its target instead of replacing the link itself.
  const target = await realpath(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return path;
    throw e;
  });
  const dir = dirname(target);
  const mode = opts.mode ?? (await existingMode(target));
  // pid + random bytes: concurrent writers (threads, processes) never share a temp file.
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);

  // 'wx' never follows or clobbers anything already there. With a mode to set,
  // start at 0o600 so a secret is never briefly readable by others; without
  // one, 0o666 lets the umask decide as for any new file.
  const fh = await open(tmp, 'wx', mode === undefined ? 0o666 : 0o600);
  try {
    try {
      if (mode !== undefined) await fh.chmod(mode);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
}

async function existingMode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o7777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Makes the rename itself durable. Some filesystems cannot fsync a directory; that is not an error. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EACCES')
      throw e;
  } finally {
    await fh?.close();
  }
}
