// Progress output (issue 17): colour follows NO_COLOR and FORCE_COLOR, plain
// lines carry the date and the zone, and --json no longer silences progress.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WriteStream } from 'node:tty';
import { plain, stamp, useColour } from '../../src/cli/progress.js';

const tty = (colours: boolean) =>
  ({
    isTTY: true,
    hasColors: (env: NodeJS.ProcessEnv) => colours && env.NO_COLOR === undefined,
  }) as unknown as NodeJS.WriteStream;
const pipe = { isTTY: false } as unknown as NodeJS.WriteStream;

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
  assert.equal(real({ TERM: 'dumb', FORCE_COLOR: '1' }), true);
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
    assert.ok(!l.includes('\u001b'), l);
  }
  assert.match(lines[1]!, /\] ok {2}pull odp\/postgres:15 \(\d+\.\ds\)$/);
});
