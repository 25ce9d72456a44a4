// A project's Odoo image, built from its directory (a Dockerfile, VERSION,
// migration.yml…) with the same input-hash cache as the platform images: an
// unchanged project is not rebuilt, a changed file is.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageStore } from '../engines/images.js';
import { OdpError } from '../errors.js';
import { buildDockerfileImage, parentImageId, type BuildProgress, type BuildResult } from './build.js';

export interface ProjectImageOptions {
  context: string;
  tag: string;
  onProgress?: (e: BuildProgress) => void;
}

export async function buildProjectImage(images: ImageStore, o: ProjectImageOptions): Promise<BuildResult> {
  const context = path.resolve(o.context);
  const dockerfile = await readFile(path.join(context, 'Dockerfile'), 'utf8').catch(() => {
    throw new OdpError('NOT_FOUND', `no Dockerfile in ${context}`);
  });
  // The parent's id is part of the cache key: a rebuilt base image rebuilds the project.
  const froms = [...dockerfile.matchAll(/^\s*FROM\s+(\S+)/gim)].map((m) => m[1]!);
  const parent = froms[froms.length - 1];
  if (!parent) throw new OdpError('USAGE', `${context}/Dockerfile has no FROM`);
  const parentId = await parentImageId(images, parent);
  const {
    id: _id,
    replaced,
    ...result
  } = await buildDockerfileImage(
    images,
    { kind: 'dockerfile', name: path.basename(context), tag: o.tag, context, parent },
    parentId,
    o.onProgress ?? (() => undefined),
  );
  // The version this build replaced is dropped unless a container still runs it.
  if (replaced) await images.remove(replaced);
  return result;
}
