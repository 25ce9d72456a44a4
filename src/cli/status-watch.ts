// `odp status --watch`: the status read again every few seconds, shown again
// when it changed, until interrupted (Ctrl-C ends it with 0: watching is not a
// failure). On a terminal the view is redrawn in place (log-update); elsewhere
// each changed view is printed under a time stamp, and with --json each changed
// status is one JSON line, so a script can follow a rollout. Ages are left out
// of the comparison: they change every second and say nothing new.
import type { InstanceStatus } from '../ops/instance/instances.js';
import { stamp } from './progress.js';

export interface WatchOptions {
  json: boolean;
  intervalMs: number;
  /** Where the view goes (stdout). */
  stream?: NodeJS.WriteStream;
  /** Ends the watch (tests; Ctrl-C otherwise). */
  signal?: AbortSignal;
}

/** What a change is made of: the status without the units' ages. */
export function watchKey(all: InstanceStatus[]): string {
  return JSON.stringify(
    all.map((i) => ({ ...i, services: i.services.map(({ ageSeconds: _a, ...s }) => s) })),
  );
}

export async function watchStatus(
  read: () => Promise<InstanceStatus[]>,
  lines: (all: InstanceStatus[]) => Promise<string[]>,
  o: WatchOptions,
): Promise<number> {
  const stream = o.stream ?? process.stdout;
  const stop = new AbortController();
  const onInt = () => stop.abort();
  process.once('SIGINT', onInt);
  o.signal?.addEventListener('abort', onInt);
  const live = !o.json && stream.isTTY ? (await import('log-update')).createLogUpdate(stream) : undefined;
  let last = '';
  try {
    while (!stop.signal.aborted) {
      const all = await read();
      const key = watchKey(all);
      if (o.json) {
        if (key !== last) stream.write(`${JSON.stringify({ at: stamp(), instances: all })}\n`);
      } else if (live) {
        live(
          [`every ${o.intervalMs / 1000}s, ${stamp()}  (Ctrl-C to stop)`, ...(await lines(all))].join('\n'),
        );
      } else if (key !== last) {
        stream.write(`[${stamp()}]\n${(await lines(all)).join('\n')}\n`);
      }
      last = key;
      await new Promise<void>((r) => {
        const t = setTimeout(r, o.intervalMs);
        stop.signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
      });
    }
  } finally {
    process.off('SIGINT', onInt);
    live?.done();
  }
  return 0;
}
