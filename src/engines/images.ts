// What odp asks of an engine's image store: build, import, inspect, tag lists,
// push and pull. The platform's knowledge (which images, their Dockerfiles, the
// Debian rootfs, the cache key) stays in src/images and the ops; an engine only
// moves bytes and answers questions about what it holds.
import type { Secret } from '../secret.js';

export interface ImageInfo {
  id: string;
  labels: Record<string, string>;
  /** When it was made, as the engine says it (RFC 3339, to the nanosecond on Docker). */
  created: string;
  /** `<repository>@sha256:…` for each registry it was pushed to or pulled from. */
  repoDigests: string[];
}

export interface ImageBuild {
  /** The build context as a tar stream, its Dockerfile at the root. */
  context: NodeJS.ReadableStream;
  tag: string;
  labels?: Record<string, string>;
  /** Run the build's steps on the host's network (apt inside a build must reach the archive). */
  hostNetwork?: boolean;
  /** What the build is, for its error message (default: `building <tag>`). */
  what?: string;
}

export interface RootfsImport {
  /** A tar stream of a root file system. */
  rootfs: NodeJS.ReadableStream;
  tag: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  cmd: string[];
}

export interface RegistryCredentials {
  username: Secret;
  password: Secret;
}

export interface ImageStore {
  /** The image behind a reference; undefined when there is none. */
  inspect(ref: string): Promise<ImageInfo | undefined>;
  /** Images with a tag matching `pattern` (`repo:prefix-*`), with those tags. */
  list(pattern: string): Promise<{ id: string; tags: string[] }[]>;
  /** Resolves when the image is built; rejects with the end of its output otherwise. */
  build(b: ImageBuild, onLine?: (line: string) => void): Promise<void>;
  /** Makes an image of a single layer from a root file system. */
  importRootfs(i: RootfsImport, onLine?: (line: string) => void): Promise<void>;
  /** Gives the image behind `source` the reference `target` too (`repo:tag`). */
  tag(source: string, target: string): Promise<void>;
  /** Untags or deletes, never forced: one a unit or a child image still uses stays, silently. */
  remove(ref: string): Promise<void>;
  /** Fetches the newest image behind `ref` from its registry. */
  pull(ref: string): Promise<void>;
  /** Pushes one tag (never the repository's other local tags); returns the pushed digest when told. */
  push(repository: string, tag: string, credentials?: RegistryCredentials): Promise<string | undefined>;
}
