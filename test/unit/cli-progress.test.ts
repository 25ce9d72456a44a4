// Progress output (issue 17): colour follows NO_COLOR and FORCE_COLOR, plain
// lines carry the date and the zone, and --json no longer silences progress.
// On a terminal, log-update keeps a live region of the running steps below the
// finished ones.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { WriteStream } from 'node:tty';
import { coloursFor, useColour } from '../../src/cli/colour.js';
import { makeProgress, plain, runningLines, stamp } from '../../src/cli/progress.js';

const tty = (colours: boolean) =>
  ({
    isTTY: true,
    hasColors: (env: NodeJS.ProcessEnv) => colours && env.NO_COLOR === undefined,
  }) as unknown as NodeJS.WriteStream;
const pipe = { isTTY: false } as unknown as NodeJS.WriteStream;
const ESC = '\u001b';

test('colour: a colour terminal unless NO_COLOR; a pipe only with FORCE_COLOR', () => {
  assert.equal(useColour(tty(true), {}), true);
  assert.equal(useColour(tty(true), { NO_COLOR: '1' }), false);
  assert.equal(useColour(pipe, {}), false);
  assert.equal(useColour(pipe, { FORCE_COLOR: '1' }), true);
  assert.equal(useColour(pipe, { FORCE_COLOR: '0' }), false);
  // On a terminal the rules are Node's own: hasColors() honours both variables.
  const real = (env: NodeJS.ProcessEnv) => WriteStream.prototype.hasColors.call(process.stderr, 16, env);
  assert.equal(real({ TERM: 'xterm-256color' }), true);
  assert.equal(real({ TERM: 'xterm-256color', NO_COLOR: '1' }), false);
  assert.equal(real({ TERM: 'dumb' }), false);
  assert.equal(real({ TERM: 'dumb', FORCE_COLOR: '1' }), true);
});

test("colour: picocolors paints by the stream's decision, not by its own guess", () => {
  assert.ok(coloursFor(pipe, { FORCE_COLOR: '1' }).green('ok').includes(ESC));
  // picocolors alone would colour here (CI is set) and with FORCE_COLOR=0.
  assert.equal(coloursFor(pipe, { CI: 'true' }).green('ok'), 'ok');
  assert.equal(coloursFor(pipe, { FORCE_COLOR: '0' }).green('ok'), 'ok');
  assert.equal(coloursFor(tty(true), { NO_COLOR: '1' }).red('x'), 'x');
});

test('plain lines: ISO date, time and zone; no escape codes without colour', () => {
  assert.equal(stamp(new Date('2026-02-23T10:15:02.345Z')), '2026-02-23T10:15:02Z');
  const lines: string[] = [];
  const p = plain((l) => lines.push(l));
  p.start('a', 'pull odp/postgres:15');
  p.done('a');
  p.fail('b', 'boom');
  for (const l of lines) {
    assert.match(l, /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] /);
    assert.ok(!l.includes(ESC), l);
  }
  assert.match(lines[1]!, /\] ok {2}pull odp\/postgres:15 \(\d+\.\ds\)$/);
});

test('plain lines: colour forced on a pipe', () => {
  const lines: string[] = [];
  const p = plain((l) => lines.push(l), coloursFor(pipe, { FORCE_COLOR: '1' }));
  p.start('a', 'pull');
  p.done('a');
  assert.ok(!lines[0]!.includes(ESC), 'the stamp and the step are not painted');
  assert.ok(lines[1]!.includes(`${ESC}[32mok`), lines[1]);
});

test('the live region: one line per running step, each with its time', () => {
  const at = Date.now();
  const text = runningLines(
    [
      { text: 'run db-1', at },
      { text: 'pull odp/nginx:1.22', at },
    ],
    0,
  );
  assert.match(text, /^⠋ run db-1 \d+\.\ds\n⠋ pull odp\/nginx:1\.22 \d+\.\ds$/);
});

test('on a terminal: finished steps stay as lines, running ones are redrawn, stop clears them', async () => {
  let written = '';
  const term = Object.assign(tty(false), {
    columns: 80,
    rows: 24,
    write: (s: string) => {
      written += s;
      return true;
    },
  });
  const p = makeProgress(term);
  p.start('a', 'run db-1');
  p.start('b', 'run redis-1');
  // Polled with a generous deadline: log-update draws when the event loop gets to it.
  for (const end = Date.now() + 30_000; Date.now() < end && !written.includes('run redis-1');)
    await sleep(10);
  assert.match(written, /run db-1 \d+\.\ds\n.*run redis-1/, 'both running steps are shown');
  p.done('a');
  p.stop();
  assert.match(written, /✓ run db-1 \d+\.\ds\n/);
  const cleared = written.slice(written.lastIndexOf('✓ run db-1'));
  assert.ok(cleared.includes(`${ESC}[2K`), 'the live region is erased at the end');
  assert.ok(!written.slice(written.lastIndexOf(`${ESC}[2K`)).includes('redis'), 'nothing runs after stop');
});
