// "did you mean `plan`?" for an unknown field: the keys the schema accepts
// where the typo is, and the one nearest to it by edit distance. Pure.
import type * as z from 'zod';

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
}

const def = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema itself, through optional and default wrappers and transforms. */
function unwrap(s: z.ZodType): z.ZodType {
  for (let d = def(s); ; d = def(s)) {
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

/** The keys a mapping at `path` of a file of `schema` may have: [] when none is known. */
export function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let at: z.ZodType | undefined = unwrap(schema);
  for (const key of path) {
    at = child(at, key);
    if (!at) return [];
    at = unwrap(at);
  }
  return Object.keys(def(at).shape ?? {});
}

/** A field of an object, the values of a record, the items of a list. */
function child(s: z.ZodType, key: PropertyKey): z.ZodType | undefined {
  const d = def(s);
  if (d.type === 'object') return d.shape?.[String(key)];
  if (d.type === 'record') return d.valueType;
  if (d.type === 'array') return d.element;
  return undefined;
}

/**
 * The candidate nearest to `word`, when it is near enough to be a typo: case
 * aside, at most one edit in short words and two in longer ones (a swap of two
 * neighbours counts as one edit).
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const limit = w.length <= 4 ? 1 : 2;
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d <= limit && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

/**
 * Optimal string alignment distance (insertions, deletions, substitutions,
 * swaps of neighbours); for lengths more than 2 apart, their difference, a lower
 * bound that is already too far for a typo.
 */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return Math.abs(a.length - b.length);
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
