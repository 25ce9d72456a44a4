// Confirmations without a terminal (src/cli/confirm.ts): nothing is asked, a
// missing --yes or --confirm is a usage error (exit 2), --yes answers.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { confirmAction, confirmDestroy } from '../../src/cli/confirm.js';
import { ExitCode, isOdpError } from '../../src/errors.js';

before(() => {
  // As in CI or a pipe, whatever runs the tests.
  Object.defineProperty(process.stdin, 'isTTY', { value: undefined, configurable: true });
});

const usage = (message: RegExp) => (e: unknown) => {
  assert.ok(isOdpError(e));
  assert.equal(e.exitCode, ExitCode.usage);
  assert.match(e.message, message);
  return true;
};

test('without a terminal a missing confirmation is a usage error, never a question', async () => {
  await assert.rejects(confirmDestroy({ what: 'acme-odoo-test' }), usage(/without confirmation/));
  await assert.rejects(confirmAction({ question: 'Restore?' }), usage(/without confirmation: Restore\?/));
  const prod = { what: 'acme-odoo-prod', typeToConfirm: 'acme-odoo-prod', yes: true };
  await assert.rejects(confirmDestroy(prod), usage(/also needs --confirm acme-odoo-prod/));
  await assert.rejects(
    confirmDestroy({ ...prod, confirm: 'acme-odoo-pro' }),
    usage(/--confirm acme-odoo-prod/),
  );
});

test('--yes answers; for integration and prod with the name typed out exactly', async () => {
  await confirmDestroy({ what: 'acme-odoo-test', yes: true });
  await confirmAction({ question: 'Restore?', yes: true });
  await confirmDestroy({
    what: 'acme-odoo-prod',
    typeToConfirm: 'acme-odoo-prod',
    yes: true,
    confirm: 'acme-odoo-prod',
  });
});
