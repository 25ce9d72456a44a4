// Files into a container: the Docker API takes a tar archive and unpacks it
// under a directory of the container (PUT /containers/{id}/archive).
import type Dockerode from 'dockerode';
import tar from 'tar-stream';
import type { UnitFile } from '../engine.js';

/** A tar of `files`, in their order, owned by root. */
export async function tarOf(files: UnitFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const mtime = new Date();
  for (const f of files) {
    const header = { name: f.path, mode: f.mode, uid: 0, gid: 0, mtime };
    if (f.content === undefined) pack.entry({ ...header, type: 'directory' });
    else pack.entry({ ...header, type: 'file' }, f.content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function putFiles(
  docker: Dockerode,
  unit: string,
  dir: string,
  files: UnitFile[],
): Promise<void> {
  await docker.getContainer(unit).putArchive(await tarOf(files), { path: dir });
}
