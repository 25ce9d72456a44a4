// Lookups by a name the user wrote. `plans[name]` on a plain object finds
// `constructor`, `toString`, `hasOwnProperty`… on every object, so a plan or a
// host named that way would "exist"; only the spec's own entries count.

/** The entry of `record` named `key`, if the spec declares it (never an inherited property). */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
