// Issue 16, defect 5: the editor of `odp secrets edit` and `odp platform
// secrets edit` must not see odp's secret variables. The editor here is a
// script that dumps its environment; the real CLI runs it.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyExamplePlatform } from '../helpers/specs.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SECRETS = {
  ODP_PASSPHRASE: 'odp-demo',
  ODP_KEY_PASSPHRASE: 'key-pass-value-1',
  ODP_WEBHOOK_SECRET: 'webhook-value-2',
  ODP_REGISTRY_PASSWORD: 'registry-value-3',
  GITHUB_TOKEN: 'token-value-4',
  AWS_SECRET_ACCESS_KEY: 'aws-value-5',
};
let work: string;
let dir: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'odp-editor-env-'));
  dir = join(work, 'platform');
  copyExamplePlatform(dir, { withSecrets: true });
});
after(() => rmSync(work, { recursive: true, force: true }));

function edit(args: string[], dump: string): Promise<{ code: number | null; stderr: string }> {
  const editor = join(work, 'dump-env.sh');
  // Dumps the environment, then adds a line so the edit is a real change.
  writeFileSync(editor, `#!/bin/sh\nenv > '${dump}'\necho "export EDITED=yes" >> "$1"\n`);
  chmodSync(editor, 0o700);
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', '-C', dir, ...args], {
      cwd: REPO,
      env: {
        ...process.env,
        ...SECRETS,
        EDITOR: editor,
        VISUAL: '',
        ODP_MARKER_PLAIN: 'x',
        KEEP_ME: 'visible',
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code) => res({ code, stderr }));
  });
}

for (const args of [
  ['secrets', 'edit', 'neomedical'],
  ['platform', 'secrets', 'edit'],
]) {
  test(`odp ${args.join(' ')}: the editor gets no secret variable`, async () => {
    const dump = join(work, `${args.length}.env-dump`);
    const r = await edit(args, dump);
    assert.equal(r.code, 0, r.stderr);
    const env = readFileSync(dump, 'utf8');
    assert.match(env, /^KEEP_ME=visible$/m, 'the editor ran with the rest of the environment');
    assert.match(env, /^HOME=/m);
    for (const [k, v] of Object.entries(SECRETS)) {
      assert.doesNotMatch(env, new RegExp(`^${k}=`, 'm'), `${k} reached the editor`);
      assert.ok(!env.includes(v), `the value of ${k} reached the editor`);
    }
    assert.doesNotMatch(env, /^ODP_/m, 'no ODP_ variable at all');
  });
}
