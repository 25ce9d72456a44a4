// A passphrase file opened with Node's crypto (src/secrets/fast-passphrase.ts)
// gives what openpgp.js gives, and anything it cannot open for sure it declines
// (undefined), never throws: openpgp.js then reports. gpg-made files are in
// test/integration/secrets-gpg.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as openpgp from 'openpgp';
import type { OdpError } from '../../src/errors.js';
import { decryptText, encryptText } from '../../src/secrets/crypto.js';
import { openWithPassphrase, passphraseParts } from '../../src/secrets/fast-passphrase.js';
import { openText } from '../../src/secrets/open-text.js';

const PASS = 'correct horse battery staple';
const TEXT = "export DB_PASSWORD='p@ss w\"rd'\nexport PROD__ADMIN_PASSWD=Zürich-🔐\n";
const fast = (data: Uint8Array, pass: string) => {
  const parts = passphraseParts(data);
  const plain = parts && openWithPassphrase(parts, pass);
  return plain && new TextDecoder().decode(plain);
};

test('a file odp writes opens, as openpgp.js opens it', async () => {
  const data = await encryptText(TEXT, PASS);
  assert.equal(fast(data, PASS), TEXT);
  assert.equal(await decryptText(data, PASS, 'f.env.gpg'), TEXT);
});

test('openText: the fast path when it opens, openpgp.js and its error when it does not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'odp-fast-pass-'));
  try {
    const good = join(dir, 'good');
    const bad = join(dir, 'bad');
    writeFileSync(good, `${PASS}\n`);
    writeFileSync(bad, 'not it\n');
    const data = await encryptText(TEXT, PASS);
    assert.equal(await openText(data, 'f.env.gpg', { passphraseFile: good }), TEXT);
    await assert.rejects(openText(data, 'f.env.gpg', { passphraseFile: bad }), (e: OdpError) => {
      assert.equal(e.code, 'SECRETS_BAD_PASSPHRASE');
      assert.match(e.message, /f\.env\.gpg/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('other ciphers, counts, compression and several passphrases', async () => {
  const variants: [openpgp.PartialConfig, string[]][] = [
    [{ preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes128, s2kIterationCountByte: 0 }, [PASS]],
    [{ preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes192, s2kIterationCountByte: 96 }, [PASS]],
    [{ preferredCompressionAlgorithm: openpgp.enums.compression.zlib }, [PASS]],
    [{ preferredCompressionAlgorithm: openpgp.enums.compression.zip }, [PASS]],
    [{}, ['another one', PASS]],
  ];
  for (const [config, passwords] of variants) {
    const message = await openpgp.createMessage({ binary: new TextEncoder().encode(TEXT), format: 'binary' });
    const data = await openpgp.encrypt({
      message,
      passwords,
      format: 'binary',
      config: { aeadProtect: false, s2kType: openpgp.enums.s2k.iterated, ...config },
    });
    assert.equal(fast(data, PASS), TEXT, JSON.stringify(config));
    assert.equal(fast(data, 'not it'), undefined);
  }
});

test('what it cannot open for sure it declines', async () => {
  const data = await encryptText(TEXT, PASS);
  assert.equal(fast(data, 'not the passphrase'), undefined);
  // AEAD (SEIPD v2) and argon2 are openpgp.js's business.
  const aead = await openpgp.encrypt({
    message: await openpgp.createMessage({ text: TEXT }),
    passwords: [PASS],
    format: 'binary',
    config: { aeadProtect: true },
  });
  assert.equal(passphraseParts(aead), undefined);
  // Every truncation and every flipped byte: undefined or the text, never a throw.
  for (let i = 0; i < data.length; i++) {
    assert.equal(fast(data.subarray(0, i), PASS), undefined);
    const flipped = Uint8Array.from(data);
    flipped[i]! ^= 0x01;
    const r = fast(flipped, PASS);
    assert.ok(r === undefined || r === TEXT, `byte ${i}`);
  }
  assert.equal(passphraseParts(new TextEncoder().encode('-----BEGIN PGP MESSAGE-----')), undefined);
});
