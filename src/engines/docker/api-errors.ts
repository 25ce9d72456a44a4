// How the Docker API's errors are read: its HTTP status and its own message.

export function statusOf(e: unknown): number | undefined {
  return (e as { statusCode?: number } | undefined)?.statusCode;
}

export function messageOf(e: unknown): string {
  const json = (e as { json?: { message?: string } }).json;
  return json?.message ?? (e instanceof Error ? e.message : String(e));
}

export async function ignore404(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (statusOf(e) !== 404) throw e;
  }
}
