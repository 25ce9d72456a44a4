// Numeric flags through the real CLI: a value that is not a number is a usage
// error (exit 2) naming the flag, before anything runs, instead of NaN reaching
// a timeout or an SQL LIMIT.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { positiveNumber, wholeNumber } from '../../src/cli/command.js';
import { runCli } from '../e2e/helpers.js';
import { copyExamplePlatform } from '../helpers/specs.js';

let dir = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'odp-flags-'));
  copyExamplePlatform(dir, { withSecrets: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the parsers take numbers in range and refuse the rest, naming the flag', () => {
  assert.equal(wholeNumber('20', '--limit'), 20);
  assert.equal(wholeNumber('0', '--port', 0), 0);
  assert.equal(positiveNumber('1.5', '--health-timeout'), 1.5);
  for (const bad of ['abc', '', '1.5', '0', '-3', '70000']) {
    assert.throws(() => wholeNumber(bad, '--limit'), /--limit expects a whole number from 1 to 65535/, bad);
  }
  for (const bad of ['soon', '0', '-1', 'Infinity', 'NaN']) {
    assert.throws(
      () => positiveNumber(bad, '--health-timeout'),
      /--health-timeout expects a positive number/,
      bad,
    );
  }
});

test('odp refuses a non-number flag with exit 2 and changes nothing', async () => {
  const spec = readFileSync(join(dir, 'projects/neomedical.yaml'), 'utf8');
  const env = { ODP_PASSPHRASE: 'odp-demo' };
  const cases: [string[], RegExp][] = [
    [['history', 'neomedical', 'test', '--limit', 'abc'], /--limit expects a whole number/],
    [['jobs', '--limit', '-1'], /--limit expects a whole number/],
    [
      ['deploy', 'neomedical', 'test', '--health-timeout', 'soon'],
      /--health-timeout expects a positive number/,
    ],
    [
      ['deploy', 'neomedical', 'prod', '--version', '10.0.0', '--health-timeout', 'x', '--dry-run'],
      /--health-timeout expects a positive number/,
    ],
    [
      ['rollback', 'neomedical', 'prod', '--health-timeout', '0'],
      /--health-timeout expects a positive number/,
    ],
    [['logs', 'neomedical', 'test', 'odoo', '--tail', 'ten'], /--tail expects a whole number/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(['-C', dir, ...args], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /datatype mismatch|NaN/);
  }
  assert.equal(readFileSync(join(dir, 'projects/neomedical.yaml'), 'utf8'), spec, 'the spec is untouched');
  for (const instance of ['test', 'prod']) {
    const h = await runCli(['-C', dir, 'history', 'neomedical', instance, '--json'], { env });
    assert.equal(h.code, 0, h.stderr);
    assert.deepEqual((JSON.parse(h.stdout) as { operations: unknown[] }).operations, [], 'nothing recorded');
  }
});
