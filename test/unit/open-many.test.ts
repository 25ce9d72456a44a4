// openMany: every secrets file through one opener, a bounded number at a time,
// and the first failing file in the given order is the error, whatever finishes first.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openMany, type Opener } from '../../src/secrets/open-many.js';

const dir = mkdtempSync(join(tmpdir(), 'odp-open-many-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const files = Array.from({ length: 9 }, (_, i) => {
  const path = join(dir, `p${i}.env.gpg`);
  // The "encrypted" bytes are the env file itself: the opener under test is a stand-in.
  writeFileSync(path, `DB_PASSWORD=secret-${i}\n`);
  return { key: `p${i}`, path, file: `projects/p${i}.env.gpg` };
});
const plain: Opener = async (data) => new TextDecoder().decode(data);

test('every file is opened once, keyed as given, at most `concurrency` at a time', async () => {
  let open = 0;
  let most = 0;
  const counting: Opener = async (data, file) => {
    most = Math.max(most, ++open);
    await new Promise((r) => setTimeout(r, file.endsWith('p0.env.gpg') ? 20 : 1));
    open--;
    return plain(data, file);
  };
  const all = await openMany(files, counting, 3);
  assert.deepEqual(
    [...all.keys()],
    files.map((f) => f.key),
  );
  assert.equal(all.get('p4')?.get('DB_PASSWORD')?.reveal(), 'secret-4');
  assert.equal(most, 3);
});

test('the first failing file in order is the error, though a later one fails first', async () => {
  const failing: Opener = async (data, file) => {
    if (file.endsWith('p2.env.gpg')) {
      await new Promise((r) => setTimeout(r, 20));
      throw new Error(`wrong passphrase for ${file}`);
    }
    if (file.endsWith('p5.env.gpg')) throw new Error(`wrong passphrase for ${file}`);
    return plain(data, file);
  };
  await assert.rejects(openMany(files, failing), /wrong passphrase for projects\/p2\.env\.gpg/);
});

test('a missing file is NOT_FOUND, named as shown to the user', async () => {
  const missing = [...files, { key: 'gone', path: join(dir, 'gone.env.gpg'), file: 'projects/gone.env.gpg' }];
  await assert.rejects(openMany(missing, plain), /no secrets file projects\/gone\.env\.gpg/);
});
