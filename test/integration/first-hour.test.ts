// A newcomer's first hour (issue 17), through the real CLI without a container
// engine: what `init`, `project new` and `check` print must be true, and the
// `next:` step they print must work. Each test says which finding it holds.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { odpSpawned } from '../helpers/cli-in-process.js';
import { copyExamplePlatform } from '../helpers/specs.js';

let work = '';
/** The environment of a shell without odp's variables (no passphrase, no key, no ODP_DIR). */
const bare: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('ODP_')),
);
const odp = (args: string[], env: NodeJS.ProcessEnv = {}, input = '') =>
  odpSpawned(args, { ...bare, ...env }, input);

before(() => {
  work = mkdtempSync(join(tmpdir(), 'odp-first-hour-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

test('check without a passphrase never prints a bare ok: it says the secrets were not checked', async () => {
  const dir = join(work, 'unchecked');
  copyExamplePlatform(dir, { withSecrets: true });
  const r = await odp(['-C', dir, 'check']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /^ok:/m);
  assert.match(r.stdout, /^ok \(secrets not checked\): platform \S+, 1 project, 12 of 13 rules$/m);
  assert.match(
    r.stdout,
    /^not checked: the secrets of 1 project \(no passphrase or key: set ODP_PASSPHRASE/m,
  );
  const full = await odp(['-C', dir, 'check'], { ODP_PASSPHRASE: 'odp-demo' });
  assert.equal(full.code, 0, full.stderr);
  assert.match(full.stdout, /^ok: platform \S+, 1 project, 13 rules$/m);
});

test('check names a missing secrets file instead of asking for a passphrase', async () => {
  const dir = join(work, 'no-file');
  copyExamplePlatform(dir);
  const r = await odp(['-C', dir, 'check'], { ODP_PASSPHRASE: 'odp-demo' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ok \(secrets not checked\)/m);
  assert.match(
    r.stdout,
    /^not checked: the secrets of 1 project \(no secrets file: \S*neomedical\.env\.gpg/m,
  );
});
