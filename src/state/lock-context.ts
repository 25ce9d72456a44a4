// The locks the running operation holds, carried along its async calls: what an
// operation calls runs under its locks, so a verb's wrapper (ops/operation.ts)
// can take a lock that the operation it wraps takes again, and a deploy's
// backup step does not wait for its own deploy.
import { AsyncLocalStorage } from 'node:async_hooks';

export type PlatformMode = 'shared' | 'exclusive';

interface Held {
  /** Instance lock files held. */
  files: ReadonlySet<string>;
  /** The platform lock held, by its directory. */
  platform: ReadonlyMap<string, PlatformMode>;
}

const store = new AsyncLocalStorage<Held>();
const nothing: Held = { files: new Set(), platform: new Map() };

export function held(): Held {
  return store.getStore() ?? nothing;
}

/** Runs `body` with one more lock marked as held. */
export function holding<T>(
  add: { file: string } | { platform: string; mode: PlatformMode },
  body: () => Promise<T>,
): Promise<T> {
  const h = held();
  return store.run(
    'file' in add
      ? { ...h, files: new Set([...h.files, add.file]) }
      : { ...h, platform: new Map([...h.platform, [add.platform, add.mode]]) },
    body,
  );
}
