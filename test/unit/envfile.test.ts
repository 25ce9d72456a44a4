// The env file must read like a shell reads it, and what we write must read
// back exactly through a real `bash -c 'source FILE'`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OdpError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';
import { formatEnvFile, parseEnvFile } from '../../src/secrets/envfile.js';

const plain = (m: Map<string, Secret>) => Object.fromEntries([...m].map(([k, v]) => [k, v.reveal()]));

function parseError(text: string): OdpError {
  try {
    parseEnvFile(text, 'x.env');
  } catch (e) {
    assert.ok(e instanceof OdpError);
    return e;
  }
  assert.fail('expected a parse error');
}

test('reads export lines, bare assignments, comments and blank lines', () => {
  const text = [
    '# a comment',
    '',
    'export DB_PASSWORD=s3cret',
    'ADMIN_PASSWD=admin # trailing comment',
    '   export  SPACED=value   ',
    'export HASH=a#b',
    'export EMPTY=',
    'export A=1 B=2',
  ].join('\n');
  assert.deepEqual(plain(parseEnvFile(text, 'x.env')), {
    DB_PASSWORD: 's3cret',
    ADMIN_PASSWD: 'admin',
    SPACED: 'value',
    HASH: 'a#b',
    EMPTY: '',
    A: '1',
    B: '2',
  });
});

test('quotes and escapes follow the shell', () => {
  const text = [
    `export S='a "b" $c \\d'`,
    `export D="x \\"y\\" \\$z \\\\ \\n \\\` $ end$"`,
    `export CAT='a'"b"c`,
    `export ESC=a\\ b\\$c`,
    `export ML='line1`,
    `line2'`,
    `export CONT="ab\\`,
    `cd"`,
  ].join('\n');
  assert.deepEqual(plain(parseEnvFile(text, 'x.env')), {
    S: 'a "b" $c \\d',
    D: 'x "y" $z \\ \\n ` $ end$',
    CAT: 'abc',
    ESC: 'a b$c',
    ML: 'line1\nline2',
    CONT: 'abcd',
  });
});

test('malformed lines: every problem with file:line, never the value', () => {
  const secret = 'hunter2-very-secret';
  const text = [
    'export OK=1',
    `export BAD=${secret};rm`,
    `${secret}`,
    `export EXP="${secret}$HOME"`,
    `export CMD=${secret}$(id)`,
    `export GLOB=${secret}*`,
    'export',
    `export OK=${secret}`,
    `export OPEN='${secret}`,
  ].join('\n');
  const e = parseError(text);
  assert.equal(e.code, 'SECRETS_INVALID');
  assert.deepEqual(
    e.problems.map((p) => p.location?.line),
    [2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.ok(e.problems.every((p) => p.location?.file === 'x.env'));
  assert.equal(e.problems[0]?.path, 'BAD');
  assert.match(e.problems[5]!.message, /without KEY=value/);
  assert.match(e.problems[6]!.message, /set twice \(first on line 1\)/);
  assert.match(e.problems[7]!.message, /unterminated single quote/);
  const all = JSON.stringify(e.toJSON()) + e.message + e.problems.map((p) => p.message).join();
  assert.ok(!all.includes('hunter2'), 'an error must not echo a value');
});

test('CRLF line endings are reported, not silently kept in values', () => {
  const e = parseError('export A=b\r\n');
  assert.match(e.problems[0]!.message, /carriage return/);
});

test('formatEnvFile sorts keys and single-quotes values', () => {
  const values = new Map([
    ['ZED', new Secret('z')],
    ['ALPHA', new Secret("it's")],
    ['MID', new Secret('')],
  ]);
  assert.equal(formatEnvFile(values), `export ALPHA='it'\\''s'\nexport MID=''\nexport ZED='z'\n`);
});

test('formatEnvFile refuses invalid names and NUL bytes, without the value', () => {
  assert.throws(
    () => formatEnvFile(new Map([['1BAD', new Secret('x')]])),
    (e: OdpError) => e.code === 'SECRETS_INVALID',
  );
  assert.throws(
    () => formatEnvFile(new Map([['K', new Secret('a\0hidden')]])),
    (e: OdpError) => e.code === 'SECRETS_INVALID' && !JSON.stringify(e.toJSON()).includes('hidden'),
  );
});

const awkward: Record<string, string> = {
  SPACES: '  leading and trailing  ',
  SINGLE: "it's a 'quote'",
  DOUBLE: 'say "hi"',
  DOLLAR: '$HOME ${PATH} $(id) `id` $',
  BACKSLASH: 'a\\b\\\\c\\n\\',
  NEWLINES: 'line1\nline2\n\nline4\n',
  TABS: 'a\tb',
  CR: 'a\rb',
  UNICODE: 'Zürich – 日本語 – 🔐',
  HASH: '#not a comment',
  GLOB: '* ? [a-z] ~ {a,b}',
  SHELL: 'a; b && c | d > e < f ( g )',
  EQUALS: 'a=b==c',
  EMPTY: '',
};

test('bash reads back exactly what formatEnvFile wrote', () => {
  const dir = mkdtempSync(join(tmpdir(), 'odp-envfile-'));
  try {
    const file = join(dir, 'secrets.env');
    const values = new Map(Object.entries(awkward).map(([k, v]) => [k, new Secret(v)]));
    writeFileSync(file, formatEnvFile(values));
    // NUL-separated dump of each variable as bash holds it after `source`.
    const script = `source "$1"; for k in ${Object.keys(awkward).join(' ')}; do printf '%s=%s\\0' "$k" "\${!k}"; done`;
    const out = execFileSync('bash', ['-c', script, 'bash', file], { encoding: 'utf8', cwd: dir });
    const got = Object.fromEntries(
      out
        .split('\0')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    assert.deepEqual(got, awkward);
    // …and our own parser agrees with bash.
    assert.deepEqual(plain(parseEnvFile(formatEnvFile(values), file)), awkward);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('our parser agrees with bash on hand-written double-quoted and escaped values', () => {
  const dir = mkdtempSync(join(tmpdir(), 'odp-envfile-'));
  try {
    const file = join(dir, 'hand.env');
    const text = `export A="x \\"y\\" \\$z \\\\ \\n \\\` end$"\nexport B=a\\ b\\$c'q'"d"\nC='multi\nline'\n`;
    writeFileSync(file, text);
    const out = execFileSync(
      'bash',
      ['-c', `source "$1"; printf '%s\\0%s\\0%s' "$A" "$B" "$C"`, 'bash', file],
      {
        encoding: 'utf8',
      },
    );
    const [a, b, c] = out.split('\0');
    assert.deepEqual(plain(parseEnvFile(text, file)), { A: a, B: b, C: c });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
