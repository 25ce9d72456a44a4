// Benchmark: opening N recipients-mode secrets files with one unlocked key
// (`decryptMany`, what `odp check` and `odp serve` do for a whole platform),
// against openpgp.js's general path. Usage:
//   node --import tsx bench/decrypt-recipients.ts [N=1000] [curve25519Legacy|rsa]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { decryptWithKeys, encryptToKeys, readMessage } from '../src/secrets/crypto.js';
import { decryptMany } from '../src/secrets/decode-values.js';
import { privateKeys } from '../src/secrets/private-key.js';

const n = Number(process.argv[2] ?? 1000);
const type =
  process.argv[3] === 'rsa'
    ? ({ type: 'rsa', rsaBits: 3072 } as const)
    : ({ type: 'ecc', curve: 'curve25519Legacy' } as const);
const dir = mkdtempSync(join(tmpdir(), 'odp-bench-decrypt-'));
try {
  const { privateKey, publicKey } = await openpgp.generateKey({
    ...type,
    userIDs: [{ name: 'bench' }],
    passphrase: 'bench key',
    format: 'armored',
  });
  const keyFile = join(dir, 'key.asc');
  writeFileSync(keyFile, privateKey, { mode: 0o600 });
  process.env.ODP_KEY_PASSPHRASE = 'bench key';
  const pub = await openpgp.readKey({ armoredKey: publicKey });
  // A project's file as `project new` writes it: six passwords and the storage keys.
  const text = ['TEST', 'INTEGRATION', 'PROD']
    .flatMap((i) => [
      `export ${i}__DB_PASSWORD='${'p'.repeat(32)}'`,
      `export ${i}__ADMIN_PASSWD='${'a'.repeat(32)}'`,
    ])
    .concat(["export AWS_ACCESS_KEY_ID='S3RVER'", "export AWS_SECRET_ACCESS_KEY='S3RVER'", ''])
    .join('\n');
  const files = await Promise.all(
    Array.from({ length: n }, async (_, i) => ({
      file: `p${i}.env.gpg`,
      data: await encryptToKeys(text, [pub]),
    })),
  );
  let t = performance.now();
  await privateKeys(keyFile);
  console.log(`unlock the key once: ${(performance.now() - t).toFixed(0)} ms`);
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    t = performance.now();
    const out = await decryptMany('.', files, { keyFile });
    runs.push(performance.now() - t);
    if (out.size !== n || out.get('p0.env.gpg')?.get('PROD__DB_PASSWORD')?.reveal() !== 'p'.repeat(32)) {
      throw new Error('wrong result');
    }
  }
  runs.sort((a, b) => a - b);
  console.log(
    `decryptMany, ${n} files (${process.argv[3] ?? 'curve25519Legacy'}): median ${runs[2]!.toFixed(0)} ms of 5 runs`,
  );
  const keys = await privateKeys(keyFile);
  t = performance.now();
  const some = files.slice(0, Math.min(n, 100));
  for (const f of some) await decryptWithKeys(await readMessage(f.data, f.file), keys, f.file);
  const per = (performance.now() - t) / some.length;
  console.log(
    `openpgp.js general path: ${per.toFixed(2)} ms a file (${((per * n) / 1000).toFixed(1)} s for ${n})`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
