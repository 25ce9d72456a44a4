// `odp images push`: which images a platform runs, and where each goes in its
// registry (platform.yaml `registry.url`). Pure: the spec in, the list out;
// what the engine holds is asked by push.ts.
import { instanceSpec } from '../compose/instance.js';
import { OdpError } from '../errors.js';
import { parseImageRef, registryRef } from '../model/image-ref.js';
import { instanceNames } from '../platform-spec/instance-names.js';
import type { PlatformSpec } from '../platform-spec/platform-schema.js';
import type { ProjectSpec } from '../platform-spec/project-schema.js';

export interface PushTarget {
  /** The reference as the spec names it (and the engine holds it). */
  image: string;
  /** Where it is pushed: `<registry>/<repository>:<tag>`. */
  target: string;
  /** What runs it: `platform redis`, `acme/test`… */
  usedBy: string[];
  /**
   * A project's image: pushed when the engine holds it. Absent, it may be in
   * the registry already (`odp publish`), or not built yet on this machine.
   */
  project: boolean;
}

/** The platform's own images, by their key under `images:`; s3 only when the server is embedded. */
function platformImages(platform: PlatformSpec): [string, string][] {
  const { s3, ...always } = platform.images;
  const all: [string, string][] = Object.entries(always);
  return platform.services.storage.embedded ? [...all, ['s3', s3]] : all;
}

/** Each project's Odoo image at the tag each declared instance deploys (test: its tag; the others: their version). */
function projectImages(projects: readonly ProjectSpec[]): [string, string, string][] {
  return projects.flatMap((p) =>
    instanceNames.flatMap((name): [string, string, string][] => {
      const spec = instanceSpec(p, name);
      if (!spec) return [];
      const tag = 'tag' in spec ? spec.tag : spec.version;
      return [[p.name, `${p.name}/${name}`, `${p.image}:${tag}`]];
    }),
  );
}

/**
 * Every image the platform runs, once each, in the order platform then
 * projects; `only` keeps those named by a platform key (`redis`), a project
 * (`acme`) or the reference itself (`odp/redis:7`).
 */
export function pushPlan(
  platform: PlatformSpec,
  projects: readonly ProjectSpec[],
  only: readonly string[] = [],
): PushTarget[] {
  const url = platform.registry?.url;
  if (!url)
    throw new OdpError('USAGE', 'platform.yaml names no registry to push to', {
      hint: 'Add `registry: { url: HOST[:PORT] }` to platform.yaml (docs/swarm.md).',
    });
  const rows: { names: string[]; usedBy: string; image: string; project: boolean }[] = [
    ...platformImages(platform).map(([key, image]) => ({
      names: [key],
      usedBy: `platform ${key}`,
      image,
      project: false,
    })),
    ...projectImages(projects).map(([name, usedBy, image]) => ({
      names: [name],
      usedBy,
      image,
      project: true,
    })),
  ];
  const unknown = only.filter((w) => !rows.some((r) => r.names.includes(w) || r.image === w));
  if (unknown.length)
    throw new OdpError('NOT_FOUND', `no image ${unknown.join(', ')} in this platform`, {
      hint: `Name a platform image (${platformImages(platform)
        .map(([k]) => k)
        .join(', ')}), a project, or an image reference.`,
    });
  const byImage = new Map<string, PushTarget>();
  for (const r of rows) {
    if (only.length && !only.some((w) => r.names.includes(w) || r.image === w)) continue;
    const seen = byImage.get(r.image);
    if (seen) {
      seen.usedBy.push(r.usedBy);
      seen.project &&= r.project;
      continue;
    }
    const ref = parseImageRef(r.image);
    if (!ref || (ref.digest && !ref.tag))
      throw new OdpError('USAGE', `${r.usedBy} runs ${r.image}: only a repository with a tag can be pushed`, {
        hint: 'Name the image by repository and tag (an image pinned by digest is pushed by hand).',
      });
    byImage.set(r.image, {
      image: r.image,
      target: registryRef(url, r.image),
      usedBy: [r.usedBy],
      project: r.project,
    });
  }
  return [...byImage.values()];
}
