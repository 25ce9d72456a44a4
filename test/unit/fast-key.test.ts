// A private key unlocked with Node's crypto (src/secrets/fast-key.ts) gives the
// keys fastKeys makes from openpgp.js's unlocked key, and declines (undefined)
// what it cannot open for sure: openpgp.js then unlocks it and reports. Keys
// made by gpg are in test/integration/secrets-recipients.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as openpgp from 'openpgp';
import { encryptToKeys } from '../../src/secrets/crypto.js';
import { fastDecrypt, fastKeys, type FastKey } from '../../src/secrets/fast-decrypt.js';
import { fastPrivateKeys } from '../../src/secrets/fast-key.js';
import { privateKeys } from '../../src/secrets/private-key.js';

const dir = mkdtempSync(join(tmpdir(), 'odp-fast-key-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function keyFile(opts: {
  passphrase?: string;
  rsa?: boolean;
}): Promise<{ file: string; pub: openpgp.PublicKey }> {
  const type = opts.rsa
    ? ({ type: 'rsa', rsaBits: 2048 } as const)
    : ({ type: 'ecc', curve: 'curve25519Legacy' } as const);
  const { privateKey, publicKey } = await openpgp.generateKey({
    ...type,
    userIDs: [{ name: 'test' }],
    format: 'armored',
    ...(opts.passphrase ? { passphrase: opts.passphrase } : {}),
  });
  const file = join(dir, `key-${++n}.asc`);
  writeFileSync(file, privateKey);
  return { file, pub: await openpgp.readKey({ armoredKey: publicKey }) };
}

const comparable = (keys: FastKey[]) =>
  keys.map((k) => ({ ...k, privateKey: k.privateKey.export({ format: 'jwk' }) }));

async function withKeyPassphrase<T>(passphrase: string | undefined, f: () => Promise<T>): Promise<T> {
  const before = process.env.ODP_KEY_PASSPHRASE;
  if (passphrase === undefined) delete process.env.ODP_KEY_PASSPHRASE;
  else process.env.ODP_KEY_PASSPHRASE = passphrase;
  try {
    return await f();
  } finally {
    if (before === undefined) delete process.env.ODP_KEY_PASSPHRASE;
    else process.env.ODP_KEY_PASSPHRASE = before;
  }
}

test('a locked Curve25519 key: the same keys as openpgp.js unlocks, and they open a file', async () => {
  const { file, pub } = await keyFile({ passphrase: 'key pass' });
  await withKeyPassphrase('key pass', async () => {
    const fast = await fastPrivateKeys(file);
    assert.ok(fast && fast.length === 1);
    assert.deepEqual(comparable(fast), comparable(fastKeys(await privateKeys(file))));
    const data = await encryptToKeys('export A=1\n', [pub]);
    assert.equal(new TextDecoder().decode(fastDecrypt(data, fast)), 'export A=1\n');
  });
});

test('an unlocked key needs no passphrase', async () => {
  const { file } = await keyFile({});
  await withKeyPassphrase(undefined, async () => {
    const fast = await fastPrivateKeys(file);
    assert.ok(fast && fast.length === 1);
    assert.deepEqual(comparable(fast), comparable(fastKeys(await privateKeys(file))));
  });
});

test('a wrong passphrase, an RSA key, a damaged or missing file: undefined, and nothing asked', async () => {
  const locked = await keyFile({ passphrase: 'key pass' });
  await withKeyPassphrase('not it', async () => assert.equal(await fastPrivateKeys(locked.file), undefined));
  // No passphrase to be had: had it asked, it would have failed (no terminal in tests).
  const rsa = await keyFile({ rsa: true, passphrase: 'key pass' });
  await withKeyPassphrase(undefined, async () => assert.equal(await fastPrivateKeys(rsa.file), undefined));
  const damaged = join(dir, 'damaged.asc');
  writeFileSync(
    damaged,
    '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n=AAAA\n-----END PGP PRIVATE KEY BLOCK-----\n',
  );
  assert.equal(await fastPrivateKeys(damaged), undefined);
  assert.equal(await fastPrivateKeys(join(dir, 'missing.asc')), undefined);
});
