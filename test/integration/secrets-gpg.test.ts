// Our secrets files against the real gpg binary, both ways, plus the promises
// of the store: a wrong passphrase changes nothing, writes are atomic.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { OdpError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/platformdir/atomic-write.js';
import { Secret } from '../../src/secret.js';
import { decryptText, encryptText } from '../../src/secrets/crypto.js';
import { formatEnvFile } from '../../src/secrets/envfile.js';
import { openWithPassphrase, passphraseParts } from '../../src/secrets/fast-passphrase.js';
import { readSecrets, secretsExist, writeSecrets } from '../../src/secrets/store.js';

const PASS = 'correct horse battery staple';
let work: string;
let gnupgHome: string;
let passFile: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'odp-gpg-'));
  gnupgHome = join(work, 'gnupg');
  mkdirSync(gnupgHome, { mode: 0o700 });
  passFile = join(work, 'pass');
  writeFileSync(passFile, `${PASS}\n`, { mode: 0o600 });
});

after(() => {
  try {
    execFileSync('gpgconf', ['--kill', 'gpg-agent'], {
      env: { ...process.env, GNUPGHOME: gnupgHome },
      stdio: 'ignore',
    });
  } catch {
    // no agent was started
  }
  rmSync(work, { recursive: true, force: true });
});

function gpg(args: string[], input?: string | Uint8Array): Buffer {
  return execFileSync(
    'gpg',
    [
      '--batch',
      '--yes',
      '--quiet',
      '--no-symkey-cache',
      '--pinentry-mode',
      'loopback',
      '--passphrase-file',
      passFile,
      ...args,
    ],
    { env: { ...process.env, GNUPGHOME: gnupgHome }, input, stdio: ['pipe', 'pipe', 'pipe'] },
  );
}

const values = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, new Secret(v)]));
const plain = (m: Map<string, Secret>) => Object.fromEntries([...m].map(([k, v]) => [k, v.reveal()]));
const listDir = (dir: string) => readdirSync(dir).sort();

const SAMPLE = "export DB_PASSWORD='p@ss w\"rd'\nexport PROD__ADMIN_PASSWD=Zürich-🔐\n";

test('a file made by gpg --symmetric --cipher-algo AES256 opens, binary and armoured', async () => {
  const bin = gpg(['--symmetric', '--cipher-algo', 'AES256', '--output', '-'], SAMPLE);
  const asc = gpg(['--symmetric', '--cipher-algo', 'AES256', '--armor', '--output', '-'], SAMPLE);
  assert.ok(asc.toString().startsWith('-----BEGIN PGP MESSAGE-----'));
  assert.equal(await decryptText(bin, PASS, 'bin.gpg'), SAMPLE);
  assert.equal(await decryptText(asc, PASS, 'asc.gpg'), SAMPLE);

  const file = join(work, 'from-gpg.env.gpg');
  writeFileSync(file, bin);
  assert.deepEqual(plain(await readSecrets(file, PASS)), {
    DB_PASSWORD: 'p@ss w"rd',
    PROD__ADMIN_PASSWD: 'Zürich-🔐',
  });
});

test('gpg --symmetric files of every usual kind open through the fast path (Node crypto), as through openpgp.js', () => {
  const kinds = [
    [], // gpg's defaults: SHA-1 S2K, no session key packet, compressed
    ['--cipher-algo', 'AES'],
    ['--cipher-algo', 'AES192', '--s2k-digest-algo', 'SHA512'],
    ['--cipher-algo', 'AES256', '--s2k-digest-algo', 'SHA256', '--s2k-count', '65011712'],
    ['--cipher-algo', 'AES256', '--s2k-count', '1024', '--compress-algo', 'none'],
    ['--cipher-algo', 'AES256', '--compress-algo', 'zip'],
  ];
  for (const args of kinds) {
    const bin = gpg(['--symmetric', ...args, '--output', '-'], SAMPLE);
    const parts = passphraseParts(bin);
    assert.ok(parts, `gpg ${args.join(' ')}: the plain case`);
    assert.equal(new TextDecoder().decode(openWithPassphrase(parts, PASS)), SAMPLE, args.join(' '));
    assert.equal(openWithPassphrase(parts, 'not the passphrase'), undefined);
  }
});

test('a file written by writeSecrets opens with gpg --decrypt, and bash can source it', async () => {
  const file = join(work, 'by-odp.env.gpg');
  const v = values({ DB_PASSWORD: "it's $secret", NOTE: 'two\nlines' });
  await writeSecrets(file, v, PASS);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const packets = gpg(['--list-packets', file]).toString();
  assert.match(packets, /symkey enc packet: version 4, cipher 9/); // 9 = AES-256
  const text = gpg(['--decrypt', file]).toString('utf8');
  assert.equal(text, formatEnvFile(v));
  const decrypted = join(work, 'by-odp.env');
  writeFileSync(decrypted, text);
  const out = execFileSync('bash', [
    '-c',
    'source "$1"; printf "%s|%s" "$DB_PASSWORD" "$NOTE"',
    'bash',
    decrypted,
  ]);
  assert.equal(out.toString(), "it's $secret|two\nlines");
});

test('a wrong passphrase is SECRETS_BAD_PASSPHRASE and leaves the file byte-identical', async () => {
  const file = join(work, 'wrong.env.gpg');
  await writeSecrets(file, values({ A: 'plaintext-marker' }), PASS);
  const gpgFile = join(work, 'wrong-gpg.env.gpg');
  writeFileSync(
    gpgFile,
    gpg(['--symmetric', '--cipher-algo', 'AES256', '--output', '-'], 'export A=plaintext-marker\n'),
  );
  for (const f of [file, gpgFile]) {
    const bytes = readFileSync(f);
    await assert.rejects(readSecrets(f, 'not the passphrase'), (e: OdpError) => {
      assert.equal(e.code, 'SECRETS_BAD_PASSPHRASE');
      assert.equal(e.exitCode, 4);
      assert.match(e.message, /^wrong passphrase for /);
      assert.match(e.hint ?? '', /ODP_PASSPHRASE/);
      assert.match(e.hint ?? '', /--passphrase-file/);
      const shown = JSON.stringify(e.toJSON()) + String(e.cause);
      assert.ok(!shown.includes('not the passphrase') && !shown.includes('plaintext-marker'));
      return true;
    });
    assert.deepEqual(readFileSync(f), bytes);
  }
});

test('not an OpenPGP message is SECRETS_INVALID; a missing file is NOT_FOUND', async () => {
  const file = join(work, 'plain.env.gpg');
  writeFileSync(file, 'export A=leaked\n');
  await assert.rejects(
    readSecrets(file, PASS),
    (e: OdpError) => e.code === 'SECRETS_INVALID' && !e.message.includes('leaked'),
  );
  await assert.rejects(
    decryptText(new Uint8Array([1, 2, 3]), PASS, 'x'),
    (e: OdpError) => e.code === 'SECRETS_INVALID',
  );
  const missing = join(work, 'missing.env.gpg');
  assert.equal(secretsExist(missing), false);
  await assert.rejects(
    readSecrets(missing, PASS),
    (e: OdpError) => e.code === 'NOT_FOUND' && Boolean(e.hint),
  );
});

test('encryptText round-trips exact bytes (CRLF, trailing spaces, no final newline)', async () => {
  const text = 'a\r\nb  \n\n  c';
  assert.equal(await decryptText(await encryptText(text, PASS), PASS, 'x'), text);
});

test('when serialisation fails, the original is untouched and no temp file is left', async () => {
  const dir = join(work, 'fail-serialise');
  mkdirSync(dir);
  const file = join(dir, 'p.env.gpg');
  await writeSecrets(file, values({ A: 'original' }), PASS);
  const bytes = readFileSync(file);
  await assert.rejects(
    writeSecrets(file, values({ A: 'nul\0byte' }), PASS),
    (e: OdpError) => e.code === 'SECRETS_INVALID',
  );
  await assert.rejects(
    writeSecrets(file, values({ 'BAD-NAME': 'x' }), PASS),
    (e: OdpError) => e.code === 'SECRETS_INVALID',
  );
  assert.deepEqual(readFileSync(file), bytes);
  assert.deepEqual(listDir(dir), ['p.env.gpg']);
});

test('when the write fails midway, the temp file is removed and the original kept', async () => {
  const dir = join(work, 'fail-rename');
  mkdirSync(dir);
  // A non-empty directory in the way: the temp file is written, then rename fails.
  const target = join(dir, 'target');
  mkdirSync(target);
  writeFileSync(join(target, 'keep'), 'x');
  await assert.rejects(writeFileAtomic(target, 'data'));
  assert.deepEqual(listDir(dir), ['target']);
  assert.deepEqual(listDir(target), ['keep']);
});

test(
  'a read-only directory fails before touching anything',
  { skip: process.getuid?.() === 0 && 'root ignores permissions' },
  async () => {
    const dir = join(work, 'readonly');
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), 'old');
    chmodSync(dir, 0o500);
    try {
      await assert.rejects(writeFileAtomic(join(dir, 'f'), 'new'));
      assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'old');
      assert.deepEqual(listDir(dir), ['f']);
    } finally {
      chmodSync(dir, 0o700);
    }
  },
);

test('writeFileAtomic keeps an existing mode unless told otherwise, and writes through symlinks', async () => {
  const dir = join(work, 'modes');
  mkdirSync(dir);
  const file = join(dir, 'spec.yaml');
  writeFileSync(file, 'a: 1\n', { mode: 0o640 });
  chmodSync(file, 0o640);
  await writeFileAtomic(file, 'a: 2\n');
  assert.equal(statSync(file).mode & 0o777, 0o640);
  assert.equal(readFileSync(file, 'utf8'), 'a: 2\n');
  await writeFileAtomic(file, 'a: 3\n', { mode: 0o600 });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  execFileSync('ln', ['-s', 'spec.yaml', join(dir, 'link.yaml')]);
  await writeFileAtomic(join(dir, 'link.yaml'), 'a: 4\n');
  assert.equal(readFileSync(file, 'utf8'), 'a: 4\n');
  assert.ok(statSync(join(dir, 'link.yaml')).isFile());
  assert.deepEqual(listDir(dir), ['link.yaml', 'spec.yaml']);
});

test('20 concurrent writers never produce a torn file', async () => {
  const dir = join(work, 'concurrent');
  mkdirSync(dir);
  const file = join(dir, 'p.env.gpg');
  await writeSecrets(file, values({ WRITER: 'initial' }), PASS);
  const contents = Array.from({ length: 20 }, (_, i) => ({
    WRITER: String(i),
    PAD: 'x'.repeat(1000 * (i + 1)),
  }));
  await Promise.all(contents.map((c) => writeSecrets(file, values(c), PASS)));
  const got = plain(await readSecrets(file, PASS));
  assert.ok(
    contents.some((c) => c.WRITER === got.WRITER && c.PAD === got.PAD && Object.keys(got).length === 2),
    'the file holds exactly one writer’s content',
  );
  assert.equal(gpg(['--decrypt', file]).toString(), formatEnvFile(values(got)));
  assert.deepEqual(listDir(dir), ['p.env.gpg']);
});
