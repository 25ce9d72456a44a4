// A project's Odoo image, built from its directory (a Dockerfile, VERSION,
// migration.yml…) with the same input-hash cache as the platform images: an
// unchanged project is not rebuilt, a changed file is.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageStore } from '../engines/images.js';
import { OdpError } from '../errors.js';
import { buildDockerfileImage, parentImageId, type BuildProgress, type BuildResult } from './build.js';
import type { DockerfileImage } from './catalog.js';

export interface ProjectImageOptions {
  context: string;
  tag: string;
  onProgress?: (e: BuildProgress) => void;
}

/** A project directory as an image to build: its parent is its Dockerfile's last FROM. */
export async function projectImage(contextDir: string, tag: string): Promise<DockerfileImage> {
  const context = path.resolve(contextDir);
  const dockerfile = await readFile(path.join(context, 'Dockerfile'), 'utf8').catch(() => {
    throw new OdpError('NOT_FOUND', `no Dockerfile in ${context}`);
  });
  const froms = [...dockerfile.matchAll(/^\s*FROM\s+(\S+)/gim)].map((m) => m[1]!);
  const parent = froms[froms.length - 1];
  if (!parent) throw new OdpError('USAGE', `${context}/Dockerfile has no FROM`);
  return { kind: 'dockerfile', name: path.basename(context), tag, context, parent };
}

export async function buildProjectImage(images: ImageStore, o: ProjectImageOptions): Promise<BuildResult> {
  const img = await projectImage(o.context, o.tag);
  // The parent's id is part of the cache key: a rebuilt base image rebuilds the project.
  const parentId = await parentImageId(images, img.parent);
  const {
    id: _id,
    replaced,
    ...result
  } = await buildDockerfileImage(images, img, parentId, o.onProgress ?? (() => undefined));
  // The version this build replaced is dropped unless a container still runs it.
  if (replaced) await images.remove(replaced);
  return result;
}
