// Progress on stderr, with or without --json (stdout carries the result, and a
// ten-minute deploy still shows what it does). On a terminal: finished steps as
// lines with their time, and below them a live region with one line per running
// step (a plan runs several at once), redrawn by log-update. Elsewhere (CI,
// pipes, logs): plain lines, each stamped with its date and time in UTC. Colour
// follows the rules of colour.ts for stderr (docs/decisions/0068).
import type { createLogUpdate } from 'log-update';
import type { Progress } from '../progress.js';
import { coloursFor, noColours, type Colours } from './colour.js';

/** Braille dots, as most spinners draw them; one frame per tick of the live region. */
const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TICK_MS = 100;

export function makeProgress(stream: NodeJS.WriteStream = process.stderr): Progress & { stop(): void } {
  const colours = coloursFor(stream);
  return stream.isTTY
    ? live(stream, colours)
    : { ...plain((l) => stream.write(`${l}\n`), colours), stop: () => undefined };
}

/** `2026-02-23T10:15:02Z`: a log line read the next day, or in another zone, still says when. */
export function stamp(at = new Date()): string {
  return at.toISOString().replace(/\.\d+Z$/, 'Z');
}

export function plain(write: (line: string) => void, c: Colours = noColours): Progress {
  const started = new Map<string, { text: string; at: number }>();
  return {
    start: (key, text) => {
      started.set(key, { text, at: Date.now() });
      write(`[${stamp()}] ${text}…`);
    },
    done: (key, text) => {
      const s = started.get(key);
      write(`[${stamp()}] ${c.green('ok')}  ${text ?? s?.text ?? key} (${secs(s?.at)})`);
    },
    fail: (key, text) => write(`[${stamp()}] ${c.red('FAILED')} ${started.get(key)?.text ?? key}: ${text}`),
    note: (text) => write(`[${stamp()}] ${text}`),
  };
}

/** What the live region shows: a line per running step, with how long it has run. */
export function runningLines(
  running: Iterable<{ text: string; at: number }>,
  frame: number,
  c: Colours = noColours,
): string {
  const spin = c.cyan(frames[frame % frames.length]!);
  return [...running].map((r) => `${spin} ${r.text} ${c.dim(secs(r.at))}`).join('\n');
}

type Region = ReturnType<typeof createLogUpdate>;

function live(stream: NodeJS.WriteStream, c: Colours): Progress & { stop(): void } {
  const running = new Map<string, { text: string; at: number }>();
  let frame = 0;
  let stopped = false;
  // log-update is loaded on the first progress, not when commands register (odp
  // --help does not pay for it). Until it is there, finished lines are written
  // as they come and the live region appears a few milliseconds late.
  let region: Region | undefined;
  const draw = () => {
    if (!region || stopped) return;
    if (running.size) region(runningLines(running.values(), frame, c));
    else region.clear();
  };
  void import('log-update')
    .then(({ createLogUpdate }) => {
      if (stopped) return;
      region = createLogUpdate(stream);
      draw();
    })
    .catch(() => undefined); // without it, the finished lines alone still say what happened
  const timer = setInterval(() => {
    frame++;
    draw();
  }, TICK_MS);
  timer.unref();
  /** A finished line above the live region: it stays when the region is redrawn. */
  const line = (text: string) => {
    if (region && !stopped) region.persist(text);
    else stream.write(`${text}\n`);
    draw();
  };
  const end = (key: string) => {
    const r = running.get(key);
    running.delete(key);
    return r;
  };
  return {
    start: (key, text) => {
      running.set(key, { text, at: Date.now() });
      draw();
    },
    done: (key, text) => {
      const r = end(key);
      line(`${c.green('✓')} ${text ?? r?.text ?? key} ${c.dim(secs(r?.at))}`);
    },
    fail: (key, text) => {
      const r = end(key);
      line(`${c.red('✗')} ${r?.text ?? key}: ${text}`);
    },
    note: (text) => line(`  ${text}`),
    stop: () => {
      if (stopped) return;
      clearInterval(timer);
      region?.clear();
      region?.done(); // shows the cursor again
      stopped = true;
    },
  };
}

function secs(at: number | undefined): string {
  return at ? `${((Date.now() - at) / 1000).toFixed(1)}s` : '';
}
