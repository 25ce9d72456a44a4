// The platform's own images. No registry is reachable from the machines odp runs
// on, so every image is built locally: a Debian base made with debootstrap, and
// the service images built FROM it with ordinary Dockerfiles kept in images/.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { OdpError } from '../errors.js';

/** images/ at the repository root; the same relative path works from src/ and dist/. */
export const imagesRoot = fileURLToPath(new URL('../../images/', import.meta.url));

export const DEBIAN_BASE = 'odp/debian:bookworm';

/** The root of the tree: a Debian rootfs made by debootstrap and imported as an image. */
export interface DebootstrapImage {
  kind: 'debootstrap';
  name: string;
  tag: string;
  suite: string;
  variant: string;
}

/** A Dockerfile image whose build context is images/<name>/. */
export interface DockerfileImage {
  kind: 'dockerfile';
  name: string;
  tag: string;
  /** Absolute path of the build context. */
  context: string;
  /** Tag the Dockerfile's FROM must name; its image id is part of the cache key. */
  parent: string;
}

export type CatalogImage = DebootstrapImage | DockerfileImage;

function dockerfileImage(name: string, tag: string, parent = DEBIAN_BASE): DockerfileImage {
  return { kind: 'dockerfile', name, tag, context: path.join(imagesRoot, name), parent };
}

/** In build order: every parent comes before its children. */
export const catalog: readonly CatalogImage[] = [
  { kind: 'debootstrap', name: 'debian', tag: DEBIAN_BASE, suite: 'bookworm', variant: 'minbase' },
  dockerfileImage('postgres', 'odp/postgres:15'),
  dockerfileImage('redis', 'odp/redis:7'),
  dockerfileImage('nginx', 'odp/nginx:1.22'),
  dockerfileImage('haproxy', 'odp/haproxy:2.6'),
  // The embedded S3-compatible server (services.storage.embedded): the spec's default images.s3.
  dockerfileImage('s3rver', 'odp/s3rver:3'),
  dockerfileImage('odoo-reference', 'odp/odoo-reference:base'),
];

function matches(img: CatalogImage, wanted: string): boolean {
  const repo = img.tag.split(':')[0];
  return wanted === img.name || wanted === img.tag || wanted === repo;
}

/**
 * The images to build for `only` (short name, repository or full tag), with
 * their ancestors added: a child's cache key needs its parent's image id, so the
 * parent must exist and be current first. Catalog order is kept.
 */
export function selectImages(only?: readonly string[]): CatalogImage[] {
  if (!only || only.length === 0) return [...catalog];
  const unknown = only.filter((w) => !catalog.some((img) => matches(img, w)));
  if (unknown.length > 0) {
    throw new OdpError('NOT_FOUND', `unknown image ${unknown.join(', ')}`, {
      hint: `known images: ${catalog.map((i) => i.name).join(', ')}`,
    });
  }
  const wanted = new Set<string>();
  const add = (tag: string): void => {
    if (wanted.has(tag)) return;
    wanted.add(tag);
    const img = catalog.find((i) => i.tag === tag);
    if (img?.kind === 'dockerfile') add(img.parent);
  };
  for (const img of catalog) if (only.some((w) => matches(img, w))) add(img.tag);
  return catalog.filter((img) => wanted.has(img.tag));
}
