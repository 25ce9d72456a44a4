// Progress on stderr, with or without --json (stdout carries the result, and a
// ten-minute deploy still shows what it does). On a terminal: finished steps as
// lines with their time, and one live line naming what is running, redrawn in
// place. Elsewhere (CI, pipes, logs): plain lines, each stamped with its date
// and time in UTC. Colour follows Node's rules for the stream: FORCE_COLOR
// forces it, NO_COLOR, NODE_DISABLE_COLORS and TERM=dumb turn it off.
import type { WriteStream } from 'node:tty';
import type { Progress } from '../progress.js';

const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function makeProgress(): Progress & { stop(): void } {
  const paint = painter(useColour());
  return process.stderr.isTTY
    ? live(paint)
    : { ...plain((l) => process.stderr.write(`${l}\n`), paint), stop: () => undefined };
}

/** Whether stderr gets colour: tty.WriteStream#hasColors on a terminal; elsewhere only when forced. */
export function useColour(stream: NodeJS.WriteStream = process.stderr, env = process.env): boolean {
  if (stream.isTTY) return (stream as WriteStream).hasColors(env);
  return env.FORCE_COLOR !== undefined && !['0', 'false'].includes(env.FORCE_COLOR);
}

type Paint = (style: 'green' | 'red' | 'cyan' | 'dim', text: string) => string;
const SGR = { green: 32, red: 31, cyan: 36, dim: 2 } as const;

function painter(colour: boolean): Paint {
  return (style, text) => (colour ? `\x1b[${SGR[style]}m${text}\x1b[0m` : text);
}

/** `2026-02-23T10:15:02Z`: a log line read the next day, or in another zone, still says when. */
export function stamp(at = new Date()): string {
  return at.toISOString().replace(/\.\d+Z$/, 'Z');
}

export function plain(write: (line: string) => void, paint: Paint = painter(false)): Progress {
  const started = new Map<string, { text: string; at: number }>();
  return {
    start: (key, text) => {
      started.set(key, { text, at: Date.now() });
      write(`[${stamp()}] ${text}…`);
    },
    done: (key, text) => {
      const s = started.get(key);
      write(`[${stamp()}] ${paint('green', 'ok')}  ${text ?? s?.text ?? key} (${secs(s?.at)})`);
    },
    fail: (key, text) =>
      write(`[${stamp()}] ${paint('red', 'FAILED')} ${started.get(key)?.text ?? key}: ${text}`),
    note: (text) => write(`[${stamp()}] ${text}`),
  };
}

function live(paint: Paint): Progress & { stop(): void } {
  const running = new Map<string, { text: string; at: number }>();
  let frame = 0;
  const out = process.stderr;
  const clear = () => out.write('\r\x1b[K');
  const draw = () => {
    clear();
    if (running.size === 0) return;
    const names = [...running.values()].map((r) => `${r.text} ${secs(r.at)}`).join(' · ');
    out.write(
      `${paint('cyan', frames[frame++ % frames.length]!)} ${names.slice(0, (out.columns ?? 120) - 3)}`,
    );
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  const line = (text: string) => {
    clear();
    out.write(`${text}\n`);
    draw();
  };
  return {
    start: (key, text) => {
      running.set(key, { text, at: Date.now() });
      draw();
    },
    done: (key, text) => {
      const r = running.get(key);
      running.delete(key);
      line(`${paint('green', '✓')} ${text ?? r?.text ?? key} ${paint('dim', secs(r?.at))}`);
    },
    fail: (key, text) => {
      const r = running.get(key);
      running.delete(key);
      line(`${paint('red', '✗')} ${r?.text ?? key}: ${text}`);
    },
    note: (text) => line(`  ${text}`),
    stop: () => {
      clearInterval(timer);
      clear();
    },
  };
}

function secs(at: number | undefined): string {
  return at ? `${((Date.now() - at) / 1000).toFixed(1)}s` : '';
}
