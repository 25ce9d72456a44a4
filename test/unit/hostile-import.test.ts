// The Rancher importer on the inputs that showed issue 16's defect 7: a 4 MB
// `command` gave one warning per word (4 million, 6 s, 464 MB). Now a file over
// 1 MiB is refused before it is parsed, and a long command within the bound (800 KB)
// gives one warning for all its arguments, never their values.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OdpError } from '../../src/errors.js';
import { parseRancherStack, type StackFiles } from '../../src/importers/rancher.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'original', 'prod');
const read = (f: string) => readFileSync(join(dir, f), 'utf8');

function stack(compose: string): StackFiles {
  return {
    compose: { file: 'docker-compose.yml', text: compose },
    publicEnv: { file: 'rancher.public.env', text: read('rancher.public.env') },
    secretEnv: { file: 'rancher.env', text: read('rancher.env') },
  };
}
const withCommand = (args: string) =>
  read('docker-compose.yml').replace(/ {2}command: .*\n/, `  command: odoo --load=web ${args}\n`);

test('a 4 MB command: the file is refused with its size, at line 1', () => {
  const words = Array.from({ length: 400_000 }, (_, i) => `--w${i}=x`).join(' ');
  assert.throws(
    () => parseRancherStack(stack(withCommand(words))),
    (e: unknown) =>
      e instanceof OdpError &&
      e.code === 'IMPORT_INVALID' &&
      /docker-compose\.yml: the file is \d+ bytes; at most 1048576/.test(e.message) &&
      e.problems[0]?.location?.line === 1,
  );
});

test('a 800 KB command: one warning for all its arguments, naming options only', () => {
  const words = Array.from({ length: 40_000 }, (_, i) => `--opt${i}=secretvalue`).join(' ');
  const s = parseRancherStack(stack(withCommand(words)));
  const cmd = s.warnings.filter((w) => /command argument/.test(w));
  assert.equal(cmd.length, 1);
  assert.match(
    cmd[0]!,
    /^docker-compose\.yml:3: 40000 command arguments are not kept by odp: --opt0 --opt1 .* and 39995 more$/,
  );
  assert.ok(!cmd[0]!.includes('secretvalue'), 'an argument value in a warning');
  assert.deepEqual(s.serverWideModules, ['web']);
  assert.ok(s.warnings.length <= 51);
});

test('an environment variable named __proto__ is refused at its line', () => {
  const compose = read('docker-compose.yml').replace('    - DB_USER=${DB_USER}\n', '    - __proto__=x\n');
  assert.throws(
    () => parseRancherStack(stack(compose)),
    (e: unknown) =>
      e instanceof OdpError && e.code === 'IMPORT_INVALID' && e.problems[0]?.location?.line === 8,
  );
});
