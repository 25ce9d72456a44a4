// While a read command runs, the state database is read, never created: a
// platform that has done nothing yet reads as empty (docs/cli-conventions.md).
// Apart from db.ts so that the CLI can say so without loading SQLite.
let reading = 0;

/** Runs `body` with state opened for reading: a missing database is not created. */
export async function readingState<T>(body: () => Promise<T>): Promise<T> {
  reading++;
  try {
    return await body();
  } finally {
    reading--;
  }
}

export function isReadingState(): boolean {
  return reading > 0;
}
