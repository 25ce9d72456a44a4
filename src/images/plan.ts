// `odp images build --dry-run`: which images a build would make and which it
// would find current, by the same input hashes the build compares, without
// building, tagging or removing anything.
import type { ImageStore } from '../engines/images.js';
import { checkParent, contextHash, inspectTag } from './build.js';
import { selectImages, type CatalogImage, type DockerfileImage } from './catalog.js';
import { baseInputHash, baseSources, readMachineSources, type BaseSources } from './debian.js';

export interface ImagePlan {
  image: string;
  build: boolean;
  why: 'inputs unchanged' | 'not built yet' | 'inputs changed' | 'its parent is rebuilt or missing';
}

export async function planImages(
  images: ImageStore,
  only: readonly string[] | undefined,
  projects: readonly DockerfileImage[] = [],
): Promise<ImagePlan[]> {
  // Each image's id once current, or null when this build would remake it.
  const ids = new Map<string, string | null>();
  let sources: BaseSources | undefined;
  const hashOf = async (img: CatalogImage): Promise<string | null> => {
    if (img.kind !== 'dockerfile') {
      sources ??= baseSources(await readMachineSources(), img.suite);
      return baseInputHash(img, sources);
    }
    const parentId = ids.has(img.parent) ? ids.get(img.parent)! : (await inspectTag(images, img.parent))?.id;
    return parentId ? contextHash(img.context, parentId) : null;
  };
  const plans: ImagePlan[] = [];
  for (const img of [...selectImages(only), ...projects]) {
    if (img.kind === 'dockerfile' && !projects.includes(img)) await checkParent(img);
    const hash = await hashOf(img);
    const existing = await inspectTag(images, img.tag);
    const current = hash !== null && existing?.hash === hash;
    ids.set(img.tag, current ? existing.id : null);
    const why = current
      ? 'inputs unchanged'
      : hash === null
        ? 'its parent is rebuilt or missing'
        : existing
          ? 'inputs changed'
          : 'not built yet';
    plans.push({ image: img.tag, build: !current, why });
  }
  return plans;
}
