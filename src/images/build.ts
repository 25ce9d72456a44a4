// `odp images build`: make every platform image locally, skipping those whose
// inputs did not change. The cache key is ours, not the engine's layer cache: a
// hash of the build context plus the parent image id, stored as a label on the
// image, so "is this image current?" is one inspect call and a second run with
// unchanged inputs builds nothing at all.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarFs from 'tar-fs';
import type { ImageStore } from '../engines/images.js';
import { OdpError } from '../errors.js';
import { selectImages, type DockerfileImage } from './catalog.js';
import {
  baseInputHash,
  baseSources,
  buildDebianBase,
  readMachineSources,
  type BaseSources,
} from './debian.js';

export const INPUT_HASH_LABEL = 'odp.input-hash';

export interface BuildProgress {
  image: string;
  phase: 'cached' | 'building' | 'built';
  detail?: string;
}

export interface BuildOptions {
  images: ImageStore;
  /** Short names, repositories or tags; ancestors are added. Default: the whole catalog. */
  only?: string[];
  onProgress?: (e: BuildProgress) => void;
}

export interface BuildResult {
  image: string;
  cached: boolean;
  seconds: number;
}

/** Local byproducts that are not inputs: neither hashed nor sent to the engine. */
const isByproduct = (name: string): boolean => name === '__pycache__' || name.endsWith('.pyc');

/** Every regular file and symlink under `dir`, as sorted posix paths relative to it. */
export async function listContext(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      if (isByproduct(e.name)) continue;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(child);
      else if (e.isFile() || e.isSymbolicLink()) out.push(child);
    }
  };
  await walk('');
  // Byte order, not locale order: the hash must not depend on the machine's locale.
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * sha256 over the context (sorted paths, each with its exec bit and content, or
 * symlink target) and the parent image id. The exec bit counts because it ends
 * up in the image (entrypoint scripts); mtimes do not, so a fresh clone hits.
 */
export async function contextHash(dir: string, parentId: string): Promise<string> {
  const h = createHash('sha256');
  h.update(`parent\0${parentId}\0`);
  for (const rel of await listContext(dir)) {
    const abs = path.join(dir, rel);
    const st = await lstat(abs);
    if (st.isSymbolicLink()) {
      h.update(`link\0${rel}\0${await readlink(abs)}\0`);
      continue;
    }
    const content = await readFile(abs);
    h.update(`file\0${rel}\0${st.mode & 0o111 ? 'x' : '-'}\0${content.length}\0`);
    h.update(content);
  }
  return h.digest('hex');
}

/** The image's id and input-hash label, or undefined when there is no such tag. */
export async function inspectTag(
  images: ImageStore,
  tag: string,
): Promise<{ id: string; hash?: string } | undefined> {
  const info = await images.inspect(tag);
  if (!info) return undefined;
  const hash = info.labels[INPUT_HASH_LABEL];
  return hash === undefined ? { id: info.id } : { id: info.id, hash };
}

/**
 * Versions a rebuild replaced are untagged: drop them so rebuilds do not pile up
 * on disk. Children first (an old base is the parent of the old children). Never
 * forced: an image that a container or someone's child image still uses stays,
 * and that refusal is not an error.
 */
async function removeReplaced(images: ImageStore, ids: string[]): Promise<void> {
  for (const id of [...ids].reverse()) await images.remove(id);
}

/** Every FROM must name the catalog's parent, or the cache key (built on the parent's id) would lie. */
export async function checkParent(img: DockerfileImage): Promise<void> {
  const text = await readFile(path.join(img.context, 'Dockerfile'), 'utf8');
  const froms = [...text.matchAll(/^\s*FROM\s+(\S+)/gim)].map((m) => m[1]);
  if (froms.length === 0 || froms.some((f) => f !== img.parent)) {
    throw new OdpError(
      'INTERNAL',
      `${img.context}/Dockerfile must be FROM ${img.parent} (found ${froms.join(', ')})`,
    );
  }
}

async function buildFromDockerfile(
  images: ImageStore,
  img: DockerfileImage,
  hash: string,
  onLine: (line: string) => void,
): Promise<void> {
  // tar-fs 3 packs into a streamx stream; wrap it so the engine client gets a Node stream.
  const context = Readable.from(
    tarFs.pack(img.context, { ignore: (p) => p.split(path.sep).some(isByproduct) }),
    { objectMode: false },
  );
  await images.build(
    // apt inside the build must reach the Debian archive; the host network is the one that can.
    { context, tag: img.tag, labels: { [INPUT_HASH_LABEL]: hash }, hostNetwork: true },
    onLine,
  );
}

/**
 * Builds one Dockerfile image unless an image with the same tag already carries
 * the same input hash. Shared by the platform catalog and project images.
 */
export async function buildDockerfileImage(
  images: ImageStore,
  img: DockerfileImage,
  parentId: string,
  emit: (e: BuildProgress) => void,
): Promise<BuildResult & { id: string; replaced?: string }> {
  const started = Date.now();
  const hash = await contextHash(img.context, parentId);
  const existing = await inspectTag(images, img.tag);
  if (existing?.hash === hash) {
    emit({ image: img.tag, phase: 'cached' });
    return { image: img.tag, cached: true, seconds: (Date.now() - started) / 1000, id: existing.id };
  }
  emit({ image: img.tag, phase: 'building', detail: img.context });
  await buildFromDockerfile(images, img, hash, milestones(img.tag, emit));
  return {
    ...(await finish(images, img.tag, hash, started, emit)),
    ...(existing ? { replaced: existing.id } : {}),
  };
}

/** Dockerfile step headers and debootstrap's I: lines are the useful milestones. */
function milestones(tag: string, emit: (e: BuildProgress) => void): (line: string) => void {
  return (line) => {
    if (/^Step \d+\/\d+ :/.test(line) || /^I: /.test(line))
      emit({ image: tag, phase: 'building', detail: line });
  };
}

async function finish(
  images: ImageStore,
  tag: string,
  hash: string,
  started: number,
  emit: (e: BuildProgress) => void,
): Promise<BuildResult & { id: string }> {
  const built = await inspectTag(images, tag);
  if (built?.hash !== hash)
    throw new OdpError('ENGINE', `${tag} was built but does not carry its input hash`);
  const seconds = (Date.now() - started) / 1000;
  emit({ image: tag, phase: 'built', detail: `${seconds.toFixed(1)} s` });
  return { image: tag, cached: false, seconds, id: built.id };
}

export async function parentImageId(images: ImageStore, parent: string): Promise<string> {
  const id = (await inspectTag(images, parent))?.id;
  if (id === undefined)
    throw new OdpError('ENGINE', `parent image ${parent} is missing`, { hint: 'Run `odp images build`.' });
  return id;
}

export async function buildImages(opts: BuildOptions): Promise<BuildResult[]> {
  const { images } = opts;
  const emit = opts.onProgress ?? (() => undefined);
  const results: BuildResult[] = [];
  // Image ids of what this run built or found, for the children's cache keys.
  const ids = new Map<string, string>();
  const replaced: string[] = [];
  let sources: BaseSources | undefined;

  for (const img of selectImages(opts.only)) {
    if (img.kind === 'dockerfile') {
      await checkParent(img);
      const parentId = ids.get(img.parent) ?? (await parentImageId(images, img.parent));
      const { id, replaced: old, ...result } = await buildDockerfileImage(images, img, parentId, emit);
      ids.set(img.tag, id);
      if (old) replaced.push(old);
      results.push(result);
      continue;
    }
    const started = Date.now();
    sources ??= baseSources(await readMachineSources(), img.suite);
    const hash = baseInputHash(img, sources);
    const existing = await inspectTag(images, img.tag);
    if (existing?.hash === hash) {
      ids.set(img.tag, existing.id);
      emit({ image: img.tag, phase: 'cached' });
      results.push({ image: img.tag, cached: true, seconds: (Date.now() - started) / 1000 });
      continue;
    }
    emit({ image: img.tag, phase: 'building', detail: `debootstrap ${img.suite} from ${sources.mirror}` });
    await buildDebianBase(images, img, sources, hash, milestones(img.tag, emit));
    const { id, ...result } = await finish(images, img.tag, hash, started, emit);
    ids.set(img.tag, id);
    if (existing) replaced.push(existing.id);
    results.push(result);
  }
  await removeReplaced(images, replaced);
  return results;
}
