// `odp import rancher` through the real CLI (main()), on a temp copy of the
// example platform: the document's integration and prod stacks are imported,
// rendered back with `--format rancher --out`, decrypted, and must give the
// same variables and values (round trip). Bad stack directories are refused
// with IMPORT_INVALID and file:line, and nothing is written.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { odpInProcess } from '../helpers/cli-in-process.js';
import { Secret } from '../../src/secret.js';
import { decryptText, encryptText } from '../../src/secrets/crypto.js';
import { writeSecrets } from '../../src/secrets/store.js';
import { resolveRancherStack, type ResolvedStack } from '../helpers/rancher-stack.js';
import { copyExamplePlatform } from '../helpers/specs.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'original');
const PASSPHRASE = 'round-trip passphrase';
process.env.ODP_PASSPHRASE = PASSPHRASE;

const odp = (...args: string[]) => odpInProcess(args);

const tmp = mkdtempSync(join(tmpdir(), 'odp-import-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** `odp -C DIR import rancher STACKDIR --project neomedical --instance INSTANCE ...more`. */
const importRancher = (dir: string, stackDir: string, instance: string, ...more: string[]) =>
  odp('-C', dir, 'import', 'rancher', stackDir, '--project', 'neomedical', '--instance', instance, ...more);

function platformCopy(name: string): string {
  const dir = join(tmp, name);
  copyExamplePlatform(dir);
  return dir;
}

/**
 * The document's prod stack says `DOMAIN_NAME=integration.…`, a copy-paste slip
 * (test/fixtures/original/README.md): imported beside integration it is refused.
 * These tests import prod with the domain its spec declares, as the golden test does.
 */
const PROD_DOMAIN = 'DOMAIN_NAME=neomedical.odoo.camptocamp.ch';
const fixProdDomain = (text: string) =>
  text.replace('DOMAIN_NAME=integration.neomedical.odoo.camptocamp.ch', PROD_DOMAIN);

function fixture(inst: string): ResolvedStack {
  const read = (f: string) => readFileSync(join(FIXTURES, inst, f), 'utf8');
  const publicEnv = read('rancher.public.env');
  return resolveRancherStack({
    compose: read('docker-compose.yml'),
    publicEnv: inst === 'prod' ? fixProdDomain(publicEnv) : publicEnv,
    secretEnv: read('rancher.env'),
  });
}

async function renderBack(dir: string, project: string, inst: string): Promise<ResolvedStack> {
  const out = join(tmp, `${project}-${inst}-${Math.random().toString(36).slice(2)}`);
  const r = await odp('-C', dir, 'render', project, inst, '--format', 'rancher', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const gpg = join(out, 'rancher.env.gpg');
  assert.equal(statSync(gpg).mode & 0o777, 0o600);
  const read = (f: string) => readFileSync(join(out, f), 'utf8');
  return resolveRancherStack({
    compose: read('docker-compose.yml'),
    publicEnv: read('rancher.public.env'),
    secretEnv: await decryptText(readFileSync(gpg), PASSPHRASE, gpg),
  });
}

/** The round-trip promise: the same variables, each with the same value, for Odoo and the certificate service. */
function assertSameStack(got: ResolvedStack, want: ResolvedStack): void {
  assert.deepEqual(got.services.odoo?.env, want.services.odoo?.env);
  const names = (s: ResolvedStack) => [...s.publicKeys, ...s.secretKeys].sort();
  assert.deepEqual(names(got), names(want));
  for (const k of names(want)) assert.equal(got.vars.get(k), want.vars.get(k), k);
  for (const key of ['image', 'command', 'external_links', 'labels'] as const) {
    assert.deepEqual(got.services.odoo?.[key], want.services.odoo?.[key], key);
  }
  for (const k of ['AWS_ACCESS_KEY', 'AWS_SECRET_KEY', 'CERT_NAME', 'DOMAINS']) {
    assert.equal(got.services.letsencrypt?.env.get(k), want.services.letsencrypt?.env.get(k), k);
  }
}

/** Every file under dir with its content: "nothing written" is checked, not assumed. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) files[join(e.parentPath, e.name)] = readFileSync(join(e.parentPath, e.name), 'base64');
  }
  return files;
}

describe('odp import rancher: the document stacks into the example platform', () => {
  let dir: string;
  const prodStack = join(tmp, 'neomedical-odoo-prod');
  before(async () => {
    dir = platformCopy('example');
    // prod comes as the original kept it: rancher.env.gpg only, no plaintext.
    cpSync(join(FIXTURES, 'prod'), prodStack, { recursive: true });
    edit(prodStack, 'rancher.public.env', fixProdDomain);
    writeFileSync(
      join(prodStack, 'rancher.env.gpg'),
      await encryptText(readFileSync(join(prodStack, 'rancher.env'), 'utf8'), PASSPHRASE),
    );
    rmSync(join(prodStack, 'rancher.env'));
    for (const [inst, stackDir] of [
      ['integration', join(FIXTURES, 'integration')],
      ['prod', prodStack],
    ] as const) {
      const r = await importRancher(dir, stackDir, inst);
      assert.equal(r.code, 0, r.stderr);
      if (inst === 'integration') assert.match(r.stderr, /rancher\.env holds secrets in plaintext/);
      else assert.doesNotMatch(r.stderr, /plaintext/);
    }
  });

  for (const inst of ['integration', 'prod'] as const) {
    it(`renders ${inst} back with the same variables and values`, async () => {
      assertSameStack(await renderBack(dir, 'neomedical', inst), fixture(inst));
    });
  }

  it('keeps the comments and the other fields of the project file', () => {
    const text = readFileSync(join(dir, 'projects', 'neomedical.yaml'), 'utf8');
    assert.match(text, /^# The original document's sample project\.$/m);
    assert.match(
      text,
      /^ {4}# A random name that never reveals the customer: clients can list databases\.$/m,
    );
    assert.match(text, /^ {2}test:\n {4}domain: test\.neomedical\.odoo\.example\.ch$/m);
    assert.match(
      text,
      /^serverWideModules: \[web, web_kanban, attachment_s3, session_redis, logging_json\]$/m,
    );
    assert.match(
      text,
      /^ {2}integration:\n {4}domain: integration\.neomedical\.odoo\.camptocamp\.ch\n {4}version: 10\.0\.0$/m,
    );
    assert.doesNotMatch(text, /env:/, 'the document matches the spec: no override is needed');
  });

  it('stores the secrets scoped to their instance', async () => {
    const r = await odp('-C', dir, 'secrets', 'show', 'neomedical', '--json');
    assert.equal(r.code, 0, r.stderr);
    const scopes = (JSON.parse(r.stdout) as { scopes: Record<string, Record<string, string>> }).scopes;
    assert.deepEqual(Object.keys(scopes.prod ?? {}).sort(), [
      'ADMIN_PASSWD',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'DB_PASSWORD',
      'LETSENCRYPT_AWS_ACCESS_KEY',
      'LETSENCRYPT_AWS_SECRET_KEY',
    ]);
    assert.ok(!r.stdout.includes('fakeProdDbPw5Hw3Jc8Ub2'));
  });

  it('prints the files masked, with a header each, and as JSON', async () => {
    const text = await odp('-C', dir, 'render', 'neomedical', 'prod', '--format', 'rancher');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^# ==> docker-compose\.yml <==$/m);
    assert.match(text.stdout, /^# ==> rancher\.env <==\nexport ADMIN_PASSWD='\*{8}'$/m);
    const json = await odp('-C', dir, 'render', 'neomedical', 'prod', '--json');
    const doc = JSON.parse(json.stdout) as { files: Record<string, string>; missingSecrets: string[] };
    assert.deepEqual(Object.keys(doc.files), ['docker-compose.yml']);
    assert.deepEqual(doc.missingSecrets, []);
    for (const out of [text.stdout, json.stdout])
      assert.ok(!out.includes('fakeProdDbPw5Hw3Jc8Ub2'), 'a secret leaked');
  });

  it('writes a compose file and its 0600 .env with --out', async () => {
    const out = join(tmp, 'compose-out');
    const r = await odp('-C', dir, 'render', 'neomedical', 'integration', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(join(out, 'docker-compose.yml'), 'utf8'), /DB_PASSWORD: \$\{DB_PASSWORD\}/);
    assert.equal(statSync(join(out, '.env')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(out, '.env'), 'utf8'), /^DB_PASSWORD='fakeIntDbPw7Kq2Xn4Rt9'$/m);
  });

  it('importing the same stack again changes nothing', async () => {
    const before = snapshot(dir);
    const r = await importRancher(dir, prodStack, 'prod', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).secrets, []);
    assert.deepEqual(snapshot(dir), before);
  });

  it("the document's prod stack as written (integration's domain) is refused: exit 8, nothing written", async () => {
    const before = snapshot(dir);
    for (const dry of [['--dry-run'], []]) {
      const r = await importRancher(dir, join(FIXTURES, 'prod'), 'prod', '--json', ...dry);
      assert.equal(r.code, 8, r.stdout + r.stderr);
      const err = (
        JSON.parse(r.stdout) as {
          error: { code: string; problems: { file: string; line: number; message: string }[] };
        }
      ).error;
      assert.equal(err.code, 'CONFLICT');
      assert.match(
        err.problems[0]!.message,
        /domain integration\.neomedical\.odoo\.camptocamp\.ch is also used by neomedical\/integration/,
      );
      assert.match(`${err.problems[0]!.file}:${err.problems[0]!.line}`, /prod\/rancher\.public\.env:1$/);
    }
    assert.deepEqual(snapshot(dir), before);
  });
});

describe('odp import rancher: values the spec does not compute', () => {
  it('keeps differing numbers as env overrides when no plan matches, and still round-trips', async () => {
    const dir = platformCopy('overrides');
    const stackDir = join(tmp, 'stack-workers');
    cpSync(join(FIXTURES, 'integration'), stackDir, { recursive: true });
    const env = join(stackDir, 'rancher.public.env');
    writeFileSync(
      env,
      readFileSync(env, 'utf8')
        .replace('export WORKERS=4', 'export WORKERS=6')
        .replace('LOG_LEVEL=info', 'LOG_LEVEL=debug'),
    );
    const r = await importRancher(dir, stackDir, 'integration', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { env: Record<string, string>; plan: string; warnings: string[] };
    assert.deepEqual(report.env, { WORKERS: '6', LOG_LEVEL: 'debug' });
    assert.equal(report.plan, 'standard');
    assert.ok(report.warnings.some((w) => /no platform plan matches/.test(w)));
    const want = fixture('integration');
    want.services.odoo?.env.set('WORKERS', '6').set('LOG_LEVEL', 'debug');
    want.vars.set('WORKERS', '6').set('LOG_LEVEL', 'debug');
    assertSameStack(await renderBack(dir, 'neomedical', 'integration'), want);
  });

  it('creates a new project (with --client), picking the plan whose numbers match', async () => {
    const dir = platformCopy('new');
    rmSync(join(dir, 'projects', 'neomedical.yaml'));
    // Without --client, as the README's example: the project's name stands in, and it says so.
    const named = await importRancher(dir, join(FIXTURES, 'prod'), 'prod', '--dry-run');
    assert.equal(named.code, 0, named.stderr);
    assert.match(named.stdout, /^\+client: Neomedical$/m);
    assert.match(named.stderr, /warning: client "Neomedical" is the project's name: .*--client/);
    const prodStack = join(tmp, 'prod-for-new');
    cpSync(join(FIXTURES, 'prod'), prodStack, { recursive: true });
    edit(prodStack, 'rancher.public.env', fixProdDomain);
    const r = await importRancher(dir, prodStack, 'prod', '--client', 'Neomedical SA');
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(dir, 'projects', 'neomedical.yaml'), 'utf8');
    assert.match(text, /^client: Neomedical SA$/m);
    assert.match(text, /^plan: standard$/m);
    assert.match(text, /^odooSeries: "10\.0"$/m);
    assert.doesNotMatch(text, /statsdCustomer|env:/, 'everything else is what odp derives');
    const check = await odp('-C', dir, 'check');
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assertSameStack(await renderBack(dir, 'neomedical', 'prod'), fixture('prod'));
  });

  it("a new project's integration stack whose domain prod already has is refused: exit 8, nothing written", async () => {
    const dir = platformCopy('collide');
    rmSync(join(dir, 'projects', 'neomedical.yaml'));
    const prod = await importRancher(dir, join(FIXTURES, 'prod'), 'prod');
    assert.equal(prod.code, 0, prod.stderr);
    const before = snapshot(dir);
    const r = await importRancher(dir, join(FIXTURES, 'integration'), 'integration');
    assert.equal(r.code, 8, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: neomedical\/integration would share what another instance has$/m);
    assert.match(
      r.stderr,
      /integration\/rancher\.public\.env:1:\d+: domain-unique: domain integration\.neomedical\.odoo\.camptocamp\.ch is also used by neomedical\/prod/,
    );
    assert.deepEqual(snapshot(dir), before);
  });

  it('round-trips a test stack (own db, ODOO_BASE_URL="https://${DOMAIN_NAME}") into a new project', async () => {
    const from = platformCopy('test-from');
    const values = new Map([
      ['TEST__DB_PASSWORD', new Secret('testDbPassword123')],
      ['TEST__ADMIN_PASSWD', new Secret('testAdminPassword45')],
    ]);
    await writeSecrets(join(from, 'projects', 'neomedical.env.gpg'), values, PASSPHRASE);
    const stackDir = join(tmp, 'neomedical-odoo-test');
    assert.equal(
      (await odp('-C', from, 'render', 'neomedical', 'test', '--format', 'rancher', '--out', stackDir)).code,
      0,
    );
    const want = await renderBack(from, 'neomedical', 'test');
    const to = platformCopy('test-to');
    rmSync(join(to, 'projects', 'neomedical.yaml'));
    const r = await importRancher(to, stackDir, 'test', '--client', 'Neomedical SA', '--odoo-series', '10.0');
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(to, 'projects', 'neomedical.yaml'), 'utf8');
    assert.match(
      text,
      /^plan: standard\ninstances:\n {2}test:\n {4}domain: test\.neomedical\.odoo\.example\.ch\n$/m,
    );
    const got = await renderBack(to, 'neomedical', 'test');
    assertSameStack(got, want);
    assert.deepEqual(got.services.db, want.services.db);
  });

  it('--dry-run prints the diff and the secret names, and writes nothing', async () => {
    const dir = platformCopy('dry');
    const before = snapshot(dir);
    const r = await importRancher(dir, join(FIXTURES, 'integration'), 'integration', '--dry-run');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^- {4}domain: integration\.neomedical\.odoo\.example\.ch$/m);
    assert.match(r.stdout, /^\+ {4}domain: integration\.neomedical\.odoo\.camptocamp\.ch$/m);
    assert.match(r.stdout, /INTEGRATION__DB_PASSWORD/);
    assert.ok(!r.stdout.includes('fakeIntDbPw7Kq2Xn4Rt9'));
    assert.deepEqual(snapshot(dir), before);
  });
});

describe('odp import rancher --help', () => {
  it('explains the command with examples', async () => {
    const r = await odp('import', 'rancher', '--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--instance <instance>/);
    assert.match(r.stdout, /Examples:/);
  });
});

describe('odp render without secrets', () => {
  it('prints masked with a note, but refuses to write files lacking secrets', async () => {
    const dir = platformCopy('nosecrets');
    const r = await odp('-C', dir, 'render', 'neomedical', 'prod');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /secrets unavailable/);
    assert.match(r.stdout, /DB_PASSWORD: '\*{8}'/);
    const out = join(tmp, 'never-written');
    const refused = await odp('-C', dir, 'render', 'neomedical', 'prod', '--out', out);
    assert.equal(refused.code, 4);
    assert.match(refused.stderr, /lacks the secrets DB_PASSWORD, ADMIN_PASSWD/);
    assert.throws(() => statSync(out));
  });
});

describe('odp import rancher: malformed stack directories', () => {
  const dir = platformCopy('malformed');
  const cases: { name: string; mutate: (stackDir: string) => void; file: string; line?: number }[] = [
    {
      name: 'no docker-compose.yml',
      mutate: (d) => rmSync(join(d, 'docker-compose.yml')),
      file: 'docker-compose.yml',
    },
    {
      name: 'no rancher.public.env',
      mutate: (d) => rmSync(join(d, 'rancher.public.env')),
      file: 'rancher.public.env',
    },
    {
      name: "the document's own mis-indented image line",
      mutate: (d) =>
        edit(d, 'docker-compose.yml', (t) =>
          t.replace('  image: camptocamp/neomedical_odoo', ' image: camptocamp/neomedical_odoo'),
        ),
      file: 'docker-compose.yml',
      line: 3,
    },
    {
      name: 'an environment that is neither a list nor a mapping',
      mutate: (d) =>
        edit(d, 'docker-compose.yml', (t) =>
          t.replace(/ {2}environment:\n( {4}- .*\n)+/, '  environment: DB_USER\n'),
        ),
      file: 'docker-compose.yml',
      line: 7,
    },
    {
      name: 'a shell line odp cannot read',
      mutate: (d) =>
        edit(d, 'rancher.public.env', (t) => t.replace('export DB_PORT=5432', 'export DB_PORT=$(cat port)')),
      file: 'rancher.public.env',
      line: 5,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: IMPORT_INVALID at file:line, nothing written`, async () => {
      const stackDir = join(tmp, `bad-${c.name.replace(/\W+/g, '-')}`);
      cpSync(join(FIXTURES, 'integration'), stackDir, { recursive: true });
      c.mutate(stackDir);
      const before = snapshot(dir);
      const r = await importRancher(dir, stackDir, 'integration', '--json');
      assert.equal(r.code, 3, r.stdout + r.stderr);
      const err = (
        JSON.parse(r.stdout) as {
          error: { code: string; message: string; problems: { file: string; line: number }[] };
        }
      ).error;
      assert.equal(err.code, 'IMPORT_INVALID');
      const where = `${err.message} ${err.problems.map((p) => `${p.file}:${p.line}`).join(' ')}`;
      assert.match(where, new RegExp(c.file.replace('.', '\\.')));
      if (c.line !== undefined)
        assert.ok(
          err.problems.some((p) => p.file.endsWith(c.file) && p.line === c.line),
          where,
        );
      assert.deepEqual(snapshot(dir), before);
    });
  }
});

function edit(dir: string, file: string, f: (text: string) => string): void {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  const next = f(text);
  assert.notEqual(next, text, `the mutation of ${file} changed nothing`);
  writeFileSync(path, next);
}
