// Writing files that carry secrets into a directory a user named (`odp render
// --out DIR`) without ever writing through a symbolic link. A link planted at
// `DIR/.env` would otherwise have the secrets written into whatever file it
// points to. So: every destination is checked first and a link refuses the
// whole write (nothing is written); then each file goes to a fresh temp file
// in DIR, created exclusively (O_EXCL, O_NOFOLLOW) with mode 0600 before any
// byte is written, and is renamed over the destination. rename() replaces a
// link itself, never its target, so a link planted between the check and the
// rename is replaced too, not followed.
//
// DIR itself being a link is refused as well (see docs/decisions/0036): the
// files would land wherever the link points, which the user did not name. The
// path above DIR is resolved as usual (/var → /private/var layouts stay fine).
import { constants } from 'node:fs';
import { lstat, mkdir, open, readlink, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { OdpError } from '../errors.js';

export interface PrivateFile {
  name: string;
  data: string | Uint8Array;
  /** Permission bits; default 0o600. */
  mode?: number;
}

/** Writes `files` into `dir` (created 0700 if missing); refuses, writing nothing, if any link is in the way. */
export async function writeFilesNoFollow(dir: string, files: readonly PrivateFile[]): Promise<string[]> {
  await checkDir(dir);
  const links: string[] = [];
  for (const f of files) {
    if (f.name.includes('/') || f.name === '.' || f.name === '..')
      throw new OdpError('INTERNAL', `not a file name: ${f.name}`);
    const st = await lstat(join(dir, f.name)).catch(notFound);
    if (st?.isSymbolicLink()) links.push(`${f.name} → ${await readlink(join(dir, f.name))}`);
    else if (st && !st.isFile())
      throw new OdpError(
        'USAGE',
        `${join(dir, f.name)} exists and is not a regular file; nothing was written`,
      );
  }
  if (links.length)
    throw new OdpError(
      'USAGE',
      `refusing to write through symbolic links in ${dir}: ${links.join(', ')}; nothing was written`,
      { hint: 'Secret files are never written through a link. Remove the links (or choose another --out).' },
    );
  const written: string[] = [];
  for (const f of files) {
    const path = join(dir, f.name);
    await replaceFile(dir, path, f.data, f.mode ?? 0o600);
    written.push(path);
  }
  await syncDir(dir);
  return written;
}

async function checkDir(dir: string): Promise<void> {
  const st = await lstat(dir).catch(notFound);
  if (!st) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return;
  }
  if (st.isSymbolicLink())
    throw new OdpError(
      'USAGE',
      `refusing to write into ${dir}: it is a symbolic link (to ${await readlink(dir)}); nothing was written`,
      { hint: `If that is where the files belong, pass the real directory: --out "$(realpath ${dir})".` },
    );
  if (!st.isDirectory()) throw new OdpError('USAGE', `${dir} is not a directory; nothing was written`);
}

async function replaceFile(
  dir: string,
  path: string,
  data: string | Uint8Array,
  mode: number,
): Promise<void> {
  const tmp = join(dir, `.odp-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  // Created 0600: a secret is never readable by others, not even for an instant.
  const fh = await open(tmp, flags, 0o600);
  try {
    try {
      if (mode !== 0o600) await fh.chmod(mode);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  await fh
    ?.sync()
    .catch(() => undefined)
    .finally(() => fh.close());
}

function notFound(e: NodeJS.ErrnoException): undefined {
  if (e.code === 'ENOENT') return undefined;
  throw e;
}
