// `odp import rancher --dry-run` prints the project YAML's change as a unified
// diff (jsdiff since decision 0057): the shape users read is pinned here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unifiedDiff } from '../../src/ops/project/import-rancher.js';

test('no change: nothing at all, not even headers', () => {
  assert.equal(unifiedDiff('a: 1\n', 'a: 1\n', 'p.yaml', 'p.yaml'), '');
  assert.equal(unifiedDiff('', '', '/dev/null', 'p.yaml'), '');
});

test('a new file: from /dev/null, one hunk of additions', () => {
  assert.equal(
    unifiedDiff('', 'a: 1\nb: 2\n', '/dev/null', 'p.yaml'),
    '--- /dev/null\n+++ p.yaml\n@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n',
  );
});

test('a changed line: removal before addition, three lines of context, hunks apart', () => {
  const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].join('\n') + '\n';
  const after = before.replace('b\n', 'B\n').replace('k\n', 'K\n');
  assert.equal(
    unifiedDiff(before, after, 'p.yaml', 'p.yaml'),
    [
      '--- p.yaml',
      '+++ p.yaml',
      '@@ -1,5 +1,5 @@',
      ' a',
      '-b',
      '+B',
      ' c',
      ' d',
      ' e',
      '@@ -8,4 +8,4 @@',
      ' h',
      ' i',
      ' j',
      '-k',
      '+K',
      '',
    ].join('\n'),
  );
});

test('a missing final newline is shown, as diff(1) shows it (the file is rewritten with one)', () => {
  assert.equal(
    unifiedDiff('a: 1', 'a: 1\n', 'p.yaml', 'p.yaml'),
    '--- p.yaml\n+++ p.yaml\n@@ -1,1 +1,1 @@\n-a: 1\n\\ No newline at end of file\n+a: 1\n',
  );
});
