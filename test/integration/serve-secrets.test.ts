// The secrets of `odp serve` (issue 16, defect 5): read once, from
// --webhook-secret-file / --passphrase-file or the environment, then removed
// from the environment so that nothing the server starts inherits them. The
// real CLI process, and a real child (`env`) of a process that took them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Secret } from '../../src/secret.js';
import { writeSecrets } from '../../src/secrets/store.js';
import {
  cleanUpServe,
  github,
  jobsOf,
  pushBody,
  SECRET,
  sha,
  startServe,
  stopServe,
  webhookPlatform,
} from '../helpers/serve.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
after(cleanUpServe);

/** A file holding `value` on its first line, mode 0600. */
function secretFile(dir: string, name: string, value: string): string {
  const f = join(dir, '..', name);
  writeFileSync(f, `${value}\n`, { mode: 0o600 });
  chmodSync(f, 0o600);
  return f;
}

test('--webhook-secret-file: webhooks are signed with it, and it is in neither the environment nor the log', async () => {
  const dir = webhookPlatform();
  const file = secretFile(dir, 'webhook-secret', SECRET);
  const s = await startServe(dir, {
    env: { ODP_WEBHOOK_SECRET: undefined, ODP_PASSPHRASE: undefined },
    args: ['--webhook-secret-file', file],
  });
  try {
    const r = await github(s.url, 'push', pushBody('refs/heads/master', sha()));
    assert.equal(r.status, 202, r.body);
    assert.equal(jobsOf(dir).length, 1);
    // Linux shows the environment the process started with: the secret was never in it.
    const environ = readFileSync(`/proc/${s.child.pid}/environ`);
    assert.ok(environ.length > 0);
    assert.equal(environ.includes(SECRET), false);
    assert.equal(environ.includes('ODP_WEBHOOK_SECRET='), false);
    assert.doesNotMatch(s.log(), new RegExp(SECRET));
  } finally {
    await stopServe(s);
  }
});

test("--passphrase-file opens platform.env.gpg's WEBHOOK_SECRET without ODP_PASSPHRASE", async () => {
  const dir = webhookPlatform();
  await writeSecrets(
    join(dir, 'platform.env.gpg'),
    new Map([['WEBHOOK_SECRET', new Secret(SECRET)]]),
    'odp-demo',
  );
  const file = secretFile(dir, 'passphrase', 'odp-demo');
  const s = await startServe(dir, {
    env: { ODP_WEBHOOK_SECRET: undefined, ODP_PASSPHRASE: undefined },
    args: ['--passphrase-file', file],
  });
  try {
    const r = await github(s.url, 'push', pushBody('refs/heads/master', sha()));
    assert.equal(r.status, 202, r.body);
    assert.equal(readFileSync(`/proc/${s.child.pid}/environ`).includes('odp-demo'), false);
  } finally {
    await stopServe(s);
  }
});

test('a missing or empty --webhook-secret-file stops the server with the file named, before it listens', async () => {
  const dir = webhookPlatform();
  const empty = secretFile(dir, 'empty', '');
  for (const [file, why] of [
    [join(dir, 'nosuch'), /cannot read the webhook secret file .*nosuch/],
    [empty, /the webhook secret file .*empty is empty/],
  ] as const) {
    await assert.rejects(
      startServe(dir, { env: { ODP_WEBHOOK_SECRET: undefined }, args: ['--webhook-secret-file', file] }),
      why,
    );
  }
});

test('after the secrets are taken, a child process inherits none of them; the passphrase is still at hand', async () => {
  const webhook = randomBytes(16).toString('hex');
  const passphrase = randomBytes(16).toString('hex');
  const registry = randomBytes(16).toString('hex');
  // A process that takes the secrets as `odp serve` does, then starts a real child: `env`.
  const script = `
    import { execFileSync } from 'node:child_process';
    import { takeServeSecrets } from './src/server/serve-secrets.ts';
    import { getPassphrase } from './src/secrets/passphrase.ts';
    const s = await takeServeSecrets({ dir: '/nonexistent' });
    const child = execFileSync('env', { encoding: 'utf8' });
    process.stdout.write(JSON.stringify({
      webhook: s.webhookSecret?.reveal() === process.argv[1],
      passphrase: (await getPassphrase({})) === process.argv[2],
      child,
    }));`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, webhook, passphrase],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          ODP_WEBHOOK_SECRET: webhook,
          ODP_PASSPHRASE: passphrase,
          ODP_REGISTRY_PASSWORD: registry,
        },
      },
      (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout)),
    ),
  );
  const r = JSON.parse(out) as { webhook: boolean; passphrase: boolean; child: string };
  assert.deepEqual([r.webhook, r.passphrase], [true, true]);
  assert.match(r.child, /^PATH=/m, 'the child printed its environment');
  for (const v of [webhook, passphrase, registry]) assert.equal(r.child.includes(v), false);
  assert.doesNotMatch(r.child, /^ODP_(WEBHOOK_SECRET|PASSPHRASE|REGISTRY_PASSWORD)=/m);
});
