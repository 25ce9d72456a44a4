// Each command loads only what it runs: `odp --help` and `odp check` must not
// pay for the Docker, database, Redis, S3 or ACME clients at start-up (they cost
// most of a second together). Asserted on the modules the real CLI loads, not
// on timings, so the test holds on a busy machine. Twice: from the sources
// (each module its own file: the import graph as written) and from the bundle
// bin/odp.js runs (scripts/bundle.mjs, built afresh here), where a loaded chunk
// counts as every package esbuild put into it (its meta.json), so a chunk that
// drags zod into `--help` fails as surely as an import would.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { decryptText, encryptToKeys } from '../../src/secrets/crypto.js';
import { importKey } from '../../src/secrets/keyring.js';
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
/** The terminal's libraries (docs/decisions/0068): loaded when a prompt, a live region or a table is shown. */
const terminal = ['@inquirer', 'log-update', 'cli-table3'];

let work = '';
let dir = '';
let recipientsDir = '';
let brokenDir = '';
let keyFile = '';
let bundleRoot = '';
/** Each output file of the bundle (absolute path) → the npm packages inside it. */
const chunkPackages = new Map<string, Set<string>>();
let runs = 0;

const packageOf = (path: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'odp-modules-'));
  dir = join(work, 'platform');
  copyExamplePlatform(dir, { withSecrets: true });

  brokenDir = join(work, 'broken');
  copyExamplePlatform(brokenDir);
  writeFileSync(join(brokenDir, 'projects/neomedical.yaml'), 'name: neomedical\nclient: *nope\n');

  // The same platform in recipients mode: its secrets encrypted to a key in keys/.
  recipientsDir = join(work, 'recipients');
  copyExamplePlatform(recipientsDir, { withSecrets: true });
  const pair = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'ci' }],
    passphrase: 'ci key',
    format: 'armored',
  });
  keyFile = join(work, 'key.asc');
  writeFileSync(keyFile, pair.privateKey, { mode: 0o600 });
  const pub = await openpgp.readKey({ armoredKey: pair.publicKey });
  await importKey(recipientsDir, pub);
  const secrets = join(recipientsDir, 'projects/neomedical.env.gpg');
  const text = await decryptText(readFileSync(secrets), 'odp-demo', secrets);
  writeFileSync(secrets, await encryptToKeys(text, [pub]));

  // The bundle as `npm run build` makes it, with the launcher beside it; external
  // packages resolve from node_modules above the chunks, as they do from dist/cli/.
  bundleRoot = join(work, 'build');
  mkdirSync(join(bundleRoot, 'bin'), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(bundleRoot, 'node_modules'));
  cpSync(join(repoRoot, 'bin/odp.js'), join(bundleRoot, 'bin/odp.js'));
  execFileSync(process.execPath, ['scripts/bundle.mjs', join(bundleRoot, 'dist/cli')], { cwd: repoRoot });
  const meta = JSON.parse(readFileSync(join(bundleRoot, 'dist/cli/meta.json'), 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, unknown> }>;
  };
  for (const [out, { inputs }] of Object.entries(meta.outputs)) {
    const packages = new Set(Object.keys(inputs).flatMap((i) => packageOf(i) ?? []));
    chunkPackages.set(resolve(repoRoot, out), packages);
  }
});
after(() => rmSync(work, { recursive: true, force: true }));

type How = 'sources' | 'bundle';

/**
 * The npm packages one run of the CLI loads, and its exit status. Detached: in a
 * session of its own the CLI has no terminal, so a check without a passphrase
 * skips the secrets instead of prompting whoever runs the tests.
 */
async function packagesLoaded(
  how: How,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ packages: Set<string>; status: number | null }> {
  const out = join(work, `modules-${++runs}.txt`);
  const entry = how === 'sources' ? ['--import', 'tsx', 'src/cli/run.ts'] : [join(bundleRoot, 'bin/odp.js')];
  const child = spawn(
    process.execPath,
    ['--import', './test/helpers/loaded-modules.mjs', ...entry, ...args],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        ODP_PASSPHRASE: '',
        ODP_KEY_FILE: '',
        ODP_KEY_PASSPHRASE: '',
        ...env,
        ODP_LOADED_MODULES: out,
      },
      detached: true,
      stdio: 'ignore',
    },
  );
  const [status] = (await once(child, 'exit')) as [number | null];
  const packages = new Set<string>();
  let chunks = 0;
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const p = packageOf(line);
    if (p) packages.add(p);
    const path = line.startsWith('file://') ? fileURLToPath(line) : line;
    const inside = chunkPackages.get(path);
    if (how === 'bundle' && inside) {
      chunks++;
      for (const q of inside) packages.add(q);
    }
  }
  if (how === 'bundle') assert.ok(chunks > 0, 'the bundle ran');
  return { packages, status };
}

function assertNone(packages: Set<string>, names: string[]): void {
  const loaded = [...packages].filter((p) => names.some((n) => p === n || p.startsWith(`${n}/`)));
  assert.deepEqual(loaded, [], `loaded: ${loaded.join(', ')}`);
}

for (const how of ['sources', 'bundle'] as const) {
  test(`${how}: odp --help loads commander and nothing heavy`, async () => {
    const { packages, status } = await packagesLoaded(how, ['--help']);
    assert.equal(status, 0);
    assert.ok(packages.has('commander'), 'the recording works');
    assertNone(packages, [...heavy, ...terminal, 'openpgp', 'zod', 'yaml', 'simple-git']);
  });

  test(`${how}: odp check loads the spec and the secrets code, OpenPGP only for what the fast paths decline`, async () => {
    const bare = await packagesLoaded(how, ['-C', dir, 'check']);
    assert.equal(bare.status, 0);
    assert.ok(bare.packages.has('zod'), 'the recording works');
    // Plain, valid files are read without the YAML library (src/platform-spec/parse-plain.ts).
    assertNone(bare.packages, [...heavy, ...terminal, 'openpgp', 'simple-git', 'yaml']);

    // A file the plain reader declines is read, and its problems reported, by the library.
    const broken = await packagesLoaded(how, ['-C', brokenDir, 'check']);
    assert.equal(broken.status, 3);
    assert.ok(broken.packages.has('yaml'));
    assertNone(broken.packages, [...heavy, 'openpgp', 'simple-git']);

    // Passphrase files open through Node's crypto (--require-secrets: exit 4 had they not been read).
    const passphrase = await packagesLoaded(how, ['-C', dir, 'check', '--require-secrets'], {
      ODP_PASSPHRASE: 'odp-demo',
    });
    assert.equal(passphrase.status, 0, 'the secrets were read');
    assertNone(passphrase.packages, [...heavy, 'openpgp', 'simple-git']);

    // Recipients files with a Curve25519 key: the key too is unlocked by Node's crypto.
    const key = await packagesLoaded(how, ['-C', recipientsDir, 'check', '--require-secrets'], {
      ODP_KEY_FILE: keyFile,
      ODP_KEY_PASSPHRASE: 'ci key',
    });
    assert.equal(key.status, 0, 'the secrets were read');
    assertNone(key.packages, [...heavy, 'openpgp', 'simple-git']);

    // What the fast paths decline (here a wrong key passphrase) OpenPGP reports.
    const wrong = await packagesLoaded(how, ['-C', recipientsDir, 'check'], {
      ODP_KEY_FILE: keyFile,
      ODP_KEY_PASSPHRASE: 'not it',
    });
    assert.equal(wrong.status, 4);
    assert.ok(wrong.packages.has('openpgp'));
    assertNone(wrong.packages, heavy);
  });
}
