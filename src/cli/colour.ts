// Colour for one stream: progress goes to stderr and tables to stdout, and either
// may be a terminal while the other is a pipe. Whether a stream gets colour is
// decided here by Node's rules for that stream; picocolors only paints. Its own
// guess looks at stdout alone, turns colour on for any CI and takes
// FORCE_COLOR=0 as forcing it, so it is never asked (docs/decisions/0068).
import type { WriteStream } from 'node:tty';
import pc from 'picocolors';

export type Colours = ReturnType<typeof pc.createColors>;

/**
 * Whether `stream` gets colour: on a terminal tty.WriteStream#hasColors, which
 * honours NO_COLOR, NODE_DISABLE_COLORS, FORCE_COLOR and TERM=dumb; elsewhere
 * only when FORCE_COLOR asks for it (colour in a CI log that renders it).
 */
export function useColour(stream: NodeJS.WriteStream = process.stderr, env = process.env): boolean {
  if (stream.isTTY) return (stream as WriteStream).hasColors(env);
  return env.FORCE_COLOR !== undefined && !['0', 'false'].includes(env.FORCE_COLOR);
}

/** The painters for `stream`: real ones when it gets colour, the identity otherwise. */
export function coloursFor(stream: NodeJS.WriteStream, env = process.env): Colours {
  return pc.createColors(useColour(stream, env));
}

/** Painters that never colour: for text whose destination is not a stream (tests, JSON). */
export const noColours: Colours = pc.createColors(false);

// The state words the read commands print (units, services, jobs, operations):
// green when all is well, red when it is not, yellow while it may still become either.
const GOOD = new Set(['running', 'healthy', 'up', 'streaming', 'ok', 'succeeded', 'ready', 'passed']);
const BAD = new Set(['exited', 'dead', 'down', 'unhealthy', 'failed', 'broken', 'degraded', 'disconnected']);
const PENDING = new Set(['starting', 'created', 'restarting', 'paused', 'queued', 'interrupted']);

/** `word` painted by what it says; any other word as it is. */
export function tone(c: Colours, word: string): string {
  if (GOOD.has(word)) return c.green(word);
  if (BAD.has(word)) return c.red(word);
  return PENDING.has(word) ? c.yellow(word) : word;
}
