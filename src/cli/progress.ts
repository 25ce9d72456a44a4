// Progress on stderr. On a terminal: finished steps as lines with their time,
// and one live line naming what is running, redrawn in place. Elsewhere (CI,
// pipes, logs): plain timestamped lines, one per event.
import type { Progress } from '../progress.js';

const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function makeProgress(opts: { json?: boolean } = {}): Progress & { stop(): void } {
  if (opts.json) return { ...plain(() => undefined), stop: () => undefined };
  return process.stderr.isTTY
    ? live()
    : { ...plain((l) => process.stderr.write(`${l}\n`)), stop: () => undefined };
}

function plain(write: (line: string) => void): Progress {
  const started = new Map<string, { text: string; at: number }>();
  const ts = () => new Date().toISOString().slice(11, 19);
  return {
    start: (key, text) => {
      started.set(key, { text, at: Date.now() });
      write(`[${ts()}] ${text}…`);
    },
    done: (key, text) => {
      const s = started.get(key);
      write(`[${ts()}] ok  ${text ?? s?.text ?? key} (${secs(s?.at)})`);
    },
    fail: (key, text) => write(`[${ts()}] FAILED ${started.get(key)?.text ?? key}: ${text}`),
    note: (text) => write(`[${ts()}] ${text}`),
  };
}

function live(): Progress & { stop(): void } {
  const running = new Map<string, { text: string; at: number }>();
  let frame = 0;
  const out = process.stderr;
  const clear = () => out.write('\r\x1b[K');
  const draw = () => {
    clear();
    if (running.size === 0) return;
    const names = [...running.values()].map((r) => `${r.text} ${secs(r.at)}`).join(' · ');
    out.write(
      `\x1b[36m${frames[frame++ % frames.length]}\x1b[0m ${names}`.slice(0, (out.columns ?? 120) + 9),
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
      line(`\x1b[32m✓\x1b[0m ${text ?? r?.text ?? key} \x1b[2m${secs(r?.at)}\x1b[0m`);
    },
    fail: (key, text) => {
      const r = running.get(key);
      running.delete(key);
      line(`\x1b[31m✗\x1b[0m ${r?.text ?? key}: ${text}`);
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
