// Recipients mode end to end (issue 10, "secrets for a team"): two team keys
// made by the real gpg, each in its own GNUPGHOME as on two laptops; the real
// CLI in a separate process without a terminal, as in CI.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { odpSpawned } from '../helpers/cli-in-process.js';
import { copyExamplePlatform } from '../helpers/specs.js';
import { encryptToKeys, decryptWithKeys, readMessage } from '../../src/secrets/crypto.js';
import { fastDecrypt, fastKeys, type FastKey } from '../../src/secrets/fast-decrypt.js';
import { fastPrivateKeys } from '../../src/secrets/fast-key.js';
import { decryptMany } from '../../src/secrets/decode-values.js';
import { privateKeys } from '../../src/secrets/private-key.js';

const DEMO = 'odp-demo'; // the example platform's passphrase
let work: string;
let dir: string;
let file: string;

interface Member {
  name: string;
  home: string;
  fpr: string;
  pub: string;
  key: string;
  pass: string;
}
let ada: Member;
let bob: Member;

function gpg(m: Member, args: string[], input?: string | Buffer): Buffer {
  return execFileSync(
    'gpg',
    ['--batch', '--yes', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', m.pass, ...args],
    { env: { ...process.env, GNUPGHOME: m.home }, input, stdio: ['pipe', 'pipe', 'pipe'] },
  );
}

/** A member's key pair made by gpg itself (batch generation), exported as odp users would. */
function makeMember(name: string): Member {
  const home = join(work, `gnupg-${name}`);
  mkdirSync(home, { mode: 0o700 });
  const m: Member = {
    name,
    home,
    fpr: '',
    pub: join(work, `${name}.asc`),
    key: join(work, `${name}-secret.asc`),
    pass: `${name} key passphrase`,
  };
  gpg(m, ['--quick-gen-key', `${name} <${name}@example.com>`, 'future-default', 'default', 'never']);
  const colons = gpg(m, ['--with-colons', '--list-secret-keys']).toString();
  m.fpr = /^fpr:+([0-9A-F]{40}):/m.exec(colons)![1]!;
  writeFileSync(m.pub, gpg(m, ['--export', '--armor', m.fpr]));
  writeFileSync(m.key, gpg(m, ['--export-secret-keys', '--armor', m.fpr]), { mode: 0o600 });
  return m;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `odp -C dir …` detached (no terminal): as `as` (their key file and its passphrase), or with the demo passphrase. */
function odp(args: string[], as?: Member, input = ''): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['ODP_PASSPHRASE', 'ODP_KEY_FILE', 'ODP_KEY_PASSPHRASE']) delete env[k];
  if (as) Object.assign(env, { ODP_KEY_FILE: as.key, ODP_KEY_PASSPHRASE: as.pass });
  else env.ODP_PASSPHRASE = DEMO;
  return odpSpawned(['-C', dir, ...args], env, input);
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'odp-recipients-'));
  dir = join(work, 'platform');
  copyExamplePlatform(dir, { withSecrets: true });
  file = join(dir, 'projects/neomedical.env.gpg');
  ada = makeMember('ada');
  bob = makeMember('bob');
});

after(() => {
  for (const m of [ada, bob]) {
    if (!m) continue;
    try {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], {
        env: { ...process.env, GNUPGHOME: m.home },
        stdio: 'ignore',
      });
    } catch {
      // no agent was started
    }
  }
  rmSync(work, { recursive: true, force: true });
});

const packets = (m: Member) => gpg(m, ['--list-packets', file]).toString();

test('a passphrase file becomes a recipients file; each member opens it with odp and with gpg', async () => {
  const before = await odp(['secrets', 'get', 'neomedical', 'DB_PASSWORD', '--instance', 'prod']);
  assert.equal(before.code, 0, before.stderr);
  const prodPassword = before.stdout.trim();

  let r = await odp(['secrets', 'recipients', 'add', 'neomedical', ada.pub, bob.pub, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /would re-encrypt .* to 2 recipient\(s\) \(was a passphrase file\)/);
  r = await odp(['secrets', 'recipients', 'list', 'neomedical', '--json']);
  assert.equal(JSON.parse(r.stdout).mode, 'passphrase', 'a dry run changes nothing');

  r = await odp(['secrets', 'recipients', 'add', 'neomedical', ada.pub, bob.pub]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(statSync(join(dir, 'keys', `${ada.fpr}.asc`)).isFile(), 'public keys are kept in keys/');
  const listed = JSON.parse((await odp(['secrets', 'recipients', 'list', 'neomedical', '--json'])).stdout);
  assert.equal(listed.mode, 'recipients');
  assert.deepEqual(
    listed.recipients.map((x: { fingerprint: string }) => x.fingerprint).sort(),
    [ada.fpr, bob.fpr].sort(),
  );
  assert.doesNotMatch(packets(ada), /symkey enc packet/, 'no passphrase packet is left');

  for (const m of [ada, bob]) {
    const got = await odp(['secrets', 'get', 'neomedical', 'DB_PASSWORD', '--instance', 'prod'], m);
    assert.equal(got.code, 0, `${m.name}: ${got.stderr}`);
    assert.equal(got.stdout.trim(), prodPassword);
    assert.match(gpg(m, ['--decrypt', file]).toString(), new RegExp(`PROD__DB_PASSWORD='?${prodPassword}`));
  }
  // The demo passphrase no longer opens it, and says why.
  r = await odp(['secrets', 'show', 'neomedical']);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /encrypted to public keys and no private key is set/);
  assert.match(r.stderr, /hint: .*ODP_KEY_FILE/);
});

test("render --out writes rancher.env.gpg to the project's recipients, not with a passphrase", async () => {
  const out = join(work, 'rancher-prod');
  const r = await odp(['render', 'neomedical', 'prod', '--format', 'rancher', '--out', out], bob);
  assert.equal(r.code, 0, r.stderr);
  const gpgFile = join(out, 'rancher.env.gpg');
  for (const m of [ada, bob]) assert.match(gpg(m, ['--decrypt', gpgFile]).toString(), /DB_PASSWORD=/);
  assert.doesNotMatch(gpg(ada, ['--list-packets', gpgFile]).toString(), /symkey enc packet/);
});

test("import rancher into a recipients project keeps the file's recipients", async () => {
  const stack = join(work, 'stack-integration');
  cpSync(join(import.meta.dirname, '..', 'fixtures', 'original', 'integration'), stack, { recursive: true });
  const r = await odp(
    ['import', 'rancher', stack, '--project', 'neomedical', '--instance', 'integration'],
    bob,
  );
  assert.equal(r.code, 0, r.stderr);
  const listed = JSON.parse((await odp(['secrets', 'recipients', 'list', 'neomedical', '--json'])).stdout);
  assert.equal(listed.mode, 'recipients');
  assert.equal(listed.recipients.length, 2);
  // The stack's own database password is now the project's, readable by both members.
  const fromStack = /DB_PASSWORD=(\S+)/.exec(readFileSync(join(stack, 'rancher.env'), 'utf8'))![1]!;
  const got = await odp(['secrets', 'get', 'neomedical', 'DB_PASSWORD', '--instance', 'integration'], ada);
  assert.equal(got.stdout.trim(), fromStack.replace(/^'(.*)'$/, '$1'));
  for (const m of [ada, bob])
    assert.match(gpg(m, ['--decrypt', file]).toString(), /INTEGRATION__DB_PASSWORD/);
});

test('a removed member cannot open the re-encrypted file; the others still can', async () => {
  const shortId = bob.fpr.slice(-16);
  let r = await odp(['secrets', 'recipients', 'remove', 'neomedical', shortId], ada);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`- ${bob.fpr}`));

  r = await odp(['secrets', 'show', 'neomedical'], bob);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /error: .*neomedical.env.gpg is not encrypted to your key/);
  assert.throws(() => gpg(bob, ['--decrypt', file]), 'gpg with the removed key fails too');
  r = await odp(['secrets', 'show', 'neomedical', '--reveal'], ada);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /DB_PASSWORD/);

  const bytes = readFileSync(file);
  r = await odp(['secrets', 'recipients', 'remove', 'neomedical', ada.fpr], ada);
  assert.equal(r.code, 2, 'removing the last recipient is refused');
  assert.match(r.stderr, /no recipient; nothing was changed/);
  assert.deepEqual(readFileSync(file), bytes);
});

test('odp opens a file gpg encrypted to the recipients, and writes it back for both', async () => {
  gpg(ada, ['--import', bob.pub]);
  const plain = "export SMTP_PASSWORD='from gpg'\nexport PROD__DB_PASSWORD='pw'\n";
  writeFileSync(
    file,
    gpg(ada, ['--trust-model', 'always', '--encrypt', '-r', ada.fpr, '-r', bob.fpr, '--output', '-'], plain),
  );
  let r = await odp(['secrets', 'get', 'neomedical', 'SMTP_PASSWORD'], bob);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'from gpg');

  // A write keeps both recipients (bob's key is still in keys/), and gpg reads it.
  r = await odp(['secrets', 'set', 'neomedical', 'API_KEY', '--stdin'], bob, 'k-123\n');
  assert.equal(r.code, 0, r.stderr);
  for (const m of [ada, bob]) assert.match(gpg(m, ['--decrypt', file]).toString(), /API_KEY='?k-123/);
});

test('the platform file takes recipients too; new files go to the keys in keys/', async () => {
  let r = await odp(['platform', 'secrets', 'set', 'WEBHOOK_SECRET', '--stdin'], ada, 'hook\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /added WEBHOOK_SECRET in .*platform.env.gpg \(new file\)/);
  r = await odp(['platform', 'secrets', 'get', 'WEBHOOK_SECRET'], bob);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'hook');
  r = await odp(['platform', 'secrets', 'recipients', 'remove', bob.fpr], ada);
  assert.equal(r.code, 0, r.stderr);
  r = await odp(['platform', 'secrets', 'get', 'WEBHOOK_SECRET'], bob);
  assert.equal(r.code, 4);
});

test('a wrong key passphrase and a missing key file say so, with a hint', async () => {
  let r = await odp(['secrets', 'show', 'neomedical'], { ...ada, pass: 'wrong' });
  assert.equal(r.code, 4);
  assert.match(r.stderr, /wrong passphrase for the key in/);
  assert.match(r.stderr, /^hint: The passphrase in ODP_KEY_PASSPHRASE does not unlock it: check its value/m);
  r = await odp(['secrets', 'show', 'neomedical'], { ...ada, key: join(work, 'nope.asc') });
  assert.equal(r.code, 4);
  assert.match(r.stderr, /cannot read the key file .*\nhint: /);
  r = await odp(['secrets', 'recipients', 'add', 'neomedical', ada.key], ada);
  assert.equal(r.code, 2, 'a private key is never copied into keys/');
  assert.match(r.stderr, /holds a private key/);
});

test('the fast path opens what gpg and odp write, as the general path does, and decryptMany uses one key', async () => {
  process.env.ODP_KEY_PASSPHRASE = ada.pass;
  try {
    const keys = await privateKeys(ada.key);
    const fast = fastKeys(keys);
    assert.equal(fast.length, 1, "gpg's future-default key has one Curve25519 encryption subkey");
    // Unlocked by Node's crypto from gpg's export, without openpgp.js: the same key.
    const native = await fastPrivateKeys(ada.key);
    const jwk = (ks: FastKey[] | undefined) =>
      ks?.map((k) => ({ ...k, privateKey: k.privateKey.export({ format: 'jwk' }) }));
    assert.deepEqual(jwk(native), jwk(fast));
    const plain = "export A='1'\nexport B='two words'\n";
    const byGpg = gpg(ada, ['--trust-model', 'always', '--encrypt', '-r', ada.fpr, '--output', '-'], plain);
    const byGpgUncompressed = gpg(
      ada,
      ['--trust-model', 'always', '--compress-algo', 'none', '--encrypt', '-r', ada.fpr, '--output', '-'],
      plain,
    );
    const byOdp = await encryptToKeys(plain, [keys[0]!.toPublic()]);
    for (const data of [byGpg, byGpgUncompressed, byOdp]) {
      const got = fastDecrypt(data, fast);
      assert.ok(got, 'the fast path handled the file');
      assert.equal(new TextDecoder().decode(got), plain);
      assert.equal(await decryptWithKeys(await readMessage(data, 'f'), keys, 'f'), plain);
    }
    // A damaged file is never accepted by the fast path (the MDC check fails).
    const damaged = Buffer.from(byOdp);
    damaged[damaged.length - 5]! ^= 1;
    assert.equal(fastDecrypt(damaged, fast), undefined);
    // A file for someone else: the fast path declines, the general one says why.
    const forBob = await encryptToKeys(plain, [await openpgpKey(bob.pub)]);
    assert.equal(fastDecrypt(forBob, fast), undefined);
    const many = await decryptMany(
      dir,
      [
        { file: 'a', data: byGpg },
        { file: 'b', data: byOdp },
      ],
      { keyFile: ada.key },
    );
    assert.equal(many.get('a')?.get('B')?.reveal(), 'two words');
    await assert.rejects(decryptMany(dir, [{ file: 'c', data: forBob }], { keyFile: ada.key }), {
      code: 'SECRETS_NOT_RECIPIENT',
    });
  } finally {
    delete process.env.ODP_KEY_PASSPHRASE;
  }
});

async function openpgpKey(file: string) {
  const { readKey } = await import('openpgp');
  return readKey({ armoredKey: readFileSync(file, 'utf8') });
}
