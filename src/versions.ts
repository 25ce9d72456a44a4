// Release versions, one definition for the whole of odp. Images are tagged, stacks
// pinned and migrations numbered as marabunta reads them: `x.y.z`, or
// `series.x.y.z` with a two-number Odoo series (14.0.1.2.0), or `setup` for the
// migration file's first step. Ordered as marabunta orders them: `setup` first,
// and `x.y.z` read as `x.0.0.y.z`, so 10.0.1 and 10.0.0.0.1 are the same release.
// Pure.

/** A pinned release: `x.y.z` or `series.x.y.z` (no `setup`, no `latest`). */
export const PINNED_VERSION = /^\d+\.\d+\.\d+(\.\d+\.\d+)?$/;

const MARABUNTA = /^(\d+)\.(\d+)\.(\d+)(\.(\d+)\.(\d+))?$|^setup$/;

/** Whether marabunta reads `number` as a version (a pinned release or `setup`). */
export function isMarabuntaVersion(number: string): boolean {
  return MARABUNTA.test(number);
}

/** marabunta's sort key: `setup` before everything; `x.y.z` as `x.0.0.y.z`. Undefined for anything else. */
export function versionKey(number: string): number[] | undefined {
  const m = MARABUNTA.exec(number);
  if (!m) return undefined;
  if (number === 'setup') return [0];
  const p = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  const parts = m[4] ? [...p, Number(m[5]), Number(m[6])] : [p[0], 0, 0, p[1], p[2]];
  return [1, ...parts];
}

/**
 * Orders versions as marabunta does. A string that is no version sorts before
 * every version (and equal to other such strings): callers filter first.
 */
export function compareVersions(a: string, b: string): number {
  const ka = versionKey(a) ?? [];
  const kb = versionKey(b) ?? [];
  for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
    const d = (ka[i] ?? -1) - (kb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}
