// The questions of src/prompts.ts, driven through streams as a terminal would
// drive them: answers as typed, a secret never echoed, Ctrl-C as ABORTED.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { ExitCode, isOdpError } from '../../src/errors.js';
import { askSecret, askText, askYesNo, type Terminal } from '../../src/prompts.js';

/** A terminal that types `keys` once the prompt is up, and keeps what it shows. */
function typing(keys: string): Terminal & { shown: () => string } {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (b: Buffer) => (shown += b.toString()));
  setImmediate(() => input.write(keys));
  return { input, output, shown: () => shown };
}

test('yes/no: y answers yes, Enter alone is no', async () => {
  assert.equal(await askYesNo('Continue?', typing('y\r')), true);
  assert.equal(await askYesNo('Continue?', typing('\r')), false);
  assert.equal(await askYesNo('Continue?', typing('no\r')), false);
});

test('a typed answer comes back as typed', async () => {
  assert.equal(
    await askText('Type neomedical-odoo-prod:', typing('neomedical-odoo-prod\r')),
    'neomedical-odoo-prod',
  );
});

test('a secret is not echoed, not even its length', async () => {
  const term = typing('s3cret-phrase\r');
  assert.equal(await askSecret('Passphrase', term), 's3cret-phrase');
  assert.match(term.shown(), /Passphrase/, 'the prompt was shown');
  assert.ok(!term.shown().includes('s3cret'), term.shown());
  assert.ok(!term.shown().includes('*'), 'no mask characters');
});

test('Ctrl-C at a prompt is ABORTED (exit 130): nothing was changed', async () => {
  for (const ask of [askYesNo, askText, askSecret]) {
    await assert.rejects(ask('Continue?', typing('\u0003')), (e) => {
      assert.ok(isOdpError(e));
      assert.equal(e.code, 'ABORTED');
      assert.equal(e.exitCode, ExitCode.aborted);
      return true;
    });
  }
});
