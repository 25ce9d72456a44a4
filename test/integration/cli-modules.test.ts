// Each command loads only what it runs: `odp --help` and `odp check` must not
// pay for the Docker, database, Redis, S3 or ACME clients at start-up (they cost
// most of a second together). Asserted on the modules the real CLI loads, not
// on timings, so the test holds on a busy machine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { copyExamplePlatform } from '../helpers/specs.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const heavy = [
  'dockerode',
  'ssh2',
  '@grpc/grpc-js',
  'ioredis',
  'pg',
  'better-sqlite3',
  '@aws-sdk',
  'acme-client',
];

let dir = '';
let brokenDir = '';
let runs = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'odp-modules-'));
  copyExamplePlatform(dir, { withSecrets: true });
  brokenDir = mkdtempSync(join(tmpdir(), 'odp-modules-broken-'));
  copyExamplePlatform(brokenDir);
  writeFileSync(join(brokenDir, 'projects/neomedical.yaml'), 'name: neomedical\nclient: *nope\n');
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(brokenDir, { recursive: true, force: true });
});

/**
 * The npm packages one run of the CLI loads, and its exit status. Detached: in a
 * session of its own the CLI has no terminal, so a check without a passphrase
 * skips the secrets instead of prompting whoever runs the tests.
 */
async function packagesLoaded(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ packages: Set<string>; status: number | null }> {
  const out = join(dir, `modules-${++runs}.txt`);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', './test/helpers/loaded-modules.mjs', 'src/cli/run.ts', ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, ODP_PASSPHRASE: '', ...env, ODP_LOADED_MODULES: out },
      detached: true,
      stdio: 'ignore',
    },
  );
  const [status] = (await once(child, 'exit')) as [number | null];
  const packages = new Set<string>();
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (m?.[1]) packages.add(m[1]);
  }
  return { packages, status };
}

function assertNone(packages: Set<string>, names: string[]): void {
  const loaded = [...packages].filter((p) => names.some((n) => p === n || p.startsWith(`${n}/`)));
  assert.deepEqual(loaded, [], `loaded: ${loaded.join(', ')}`);
}

test('odp --help loads commander and nothing heavy', async () => {
  const { packages, status } = await packagesLoaded(['--help']);
  assert.equal(status, 0);
  assert.ok(packages.has('commander'), 'the recording works');
  assertNone(packages, [...heavy, 'openpgp', 'zod', 'yaml', 'simple-git']);
});

test('odp check loads the spec and the secrets code only, and OpenPGP only with a passphrase', async () => {
  const bare = await packagesLoaded(['-C', dir, 'check']);
  assert.equal(bare.status, 0);
  assert.ok(bare.packages.has('zod'), 'the recording works');
  // Plain, valid files are read without the YAML library (src/spec/parse-plain.ts).
  assertNone(bare.packages, [...heavy, 'openpgp', 'yaml']);

  // A file the plain reader declines is read, and its problems reported, by the library.
  const broken = await packagesLoaded(['-C', brokenDir, 'check']);
  assert.equal(broken.status, 3);
  assert.ok(broken.packages.has('yaml'));
  assertNone(broken.packages, [...heavy, 'openpgp']);

  const withSecrets = await packagesLoaded(['-C', dir, 'check'], { ODP_PASSPHRASE: 'odp-demo' });
  assert.equal(withSecrets.status, 0);
  assert.ok(withSecrets.packages.has('openpgp'), 'the secrets were read');
  assertNone(withSecrets.packages, heavy);
});
