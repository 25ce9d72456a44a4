// The read commands' columns (src/cli/table.ts): aligned by what a terminal
// shows, so accents, wide characters and colour codes keep the columns straight.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stripVTControlCharacters as plain } from 'node:util';
import { coloursFor, tone } from '../../src/cli/colour.js';
import { age, table } from '../../src/cli/table.js';

test('columns line up by display width: accents, wide characters, colour codes', () => {
  const green = coloursFor({ isTTY: false } as NodeJS.WriteStream, { FORCE_COLOR: '1' }).green;
  const lines = table([
    ['zürich-prod', green('running'), 'A'],
    ['日本-test', 'exited', 'B'],
    ['plain', 'up', 'C'],
  ]);
  assert.ok(lines[0]!.includes('\u001b[32mrunning'), 'the colour stays');
  // 日 and 本 take two cells each on a terminal: 日本-test is 9 cells wide, as wide as "plain" + 4.
  assert.deepEqual(lines.map(plain), [
    'zürich-prod  running  A',
    '日本-test    exited   B',
    'plain        up       C',
  ]);
});

test('right-aligned columns, an indent, no trailing blanks, one line per row', () => {
  const lines = table(
    [
      ['db-1', '7s', 'odp/postgres:15', ''],
      ['odoo-1', '120m', 'acme', 'http://127.0.0.1:8069/'],
    ],
    { right: [1], indent: '  ' },
  );
  assert.deepEqual(lines, [
    '  db-1      7s  odp/postgres:15',
    '  odoo-1  120m  acme             http://127.0.0.1:8069/',
  ]);
  assert.deepEqual(table([['a\nb', 'c']]), ['a b  c']);
  assert.deepEqual(table([]), []);
});

test('ages in the unit a person reads', () => {
  assert.deepEqual([7, 119, 600, 7199, 7200, 172799, 172800].map(age), [
    '7s',
    '119s',
    '10m',
    '120m',
    '2h',
    '48h',
    '2d',
  ]);
});

test('state words: green when well, red when not, yellow while pending, others as they are', () => {
  const c = coloursFor({ isTTY: false } as NodeJS.WriteStream, { FORCE_COLOR: '1' });
  assert.equal(tone(c, 'running'), c.green('running'));
  assert.equal(tone(c, 'failed'), c.red('failed'));
  assert.equal(tone(c, 'queued'), c.yellow('queued'));
  assert.equal(tone(c, 'superseded'), 'superseded');
});
