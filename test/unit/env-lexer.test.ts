// The one env-file lexer (src/platform-spec/env-lexer.ts) under both of its users'
// options: the secrets file's (strict, no references, no CR, no key twice) and
// the Rancher importer's (references, CRLF forgiven, the last value wins).
// Each option is shown to change exactly what it says; the rest is shared.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { parseShellEnv } from '../../src/importers/shell-env.js';
import { lexEnv, type EnvLexOptions } from '../../src/platform-spec/env-lexer.js';

const SECRETS: EnvLexOptions = { references: false, strict: true, crlf: false, duplicates: 'refuse' };
const RANCHER: EnvLexOptions = { references: true, strict: false, crlf: true, duplicates: 'last-wins' };

const lex = (text: string, o: EnvLexOptions) => lexEnv(text, o);
const values = (text: string, o: EnvLexOptions) => {
  const r = lex(text, o);
  assert.deepEqual(r.problems, []);
  return r.assignments.map((a) => [a.key, a.parts]);
};
const problems = (text: string, o: EnvLexOptions) =>
  lex(text, o).problems.map((p) => `${p.line}:${p.column} ${p.message}`);

test('shared: export, several assignments on a line, comments, blanks, an empty value', () => {
  const text = '# c\n\n  export A=1 B=2 # note\nC= \nexport\tD=x#y\n';
  for (const o of [SECRETS, RANCHER])
    assert.deepEqual(values(text, o), [
      ['A', ['1']],
      ['B', ['2']],
      ['C', []],
      ['D', ['x#y']],
    ]);
});

test('shared: quotes and backslashes join into one literal, across lines', () => {
  const text = `K='a b'"c \\" \\n"\\ d'\nline2'\nL="x\\\ny" M=p\\\nq\n`;
  for (const o of [SECRETS, RANCHER])
    assert.deepEqual(values(text, o), [
      ['K', ['a bc " \\n d\nline2']],
      ['L', ['xy']],
      ['M', ['pq']],
    ]);
});

test('shared: keys and positions of assignments; line and column of every problem, then the next line', () => {
  const r = lex('A=1\n  B=2 C=3\n', RANCHER);
  assert.deepEqual(
    r.assignments.map((a) => [a.key, a.line, a.column]),
    [
      ['A', 1, 1],
      ['B', 2, 3],
      ['C', 2, 7],
    ],
  );
  const text = "1A=x\nexport\nexport # c\nB=a;b\nC=`id`\nOK=1\nD='open\n";
  for (const o of [SECRETS, RANCHER]) {
    assert.deepEqual(problems(text, o), [
      '1:1 expected `export KEY=value` or `KEY=value`',
      '2:7 `export` without KEY=value',
      '3:8 `export` without KEY=value',
      '4:4 shell special character outside quotes; put the value in single quotes',
      '5:3 shell special character outside quotes; put the value in single quotes',
      '7:3 unterminated single quote',
    ]);
    assert.deepEqual(
      lex(text, o).problems.map((p) => p.key),
      [undefined, undefined, undefined, 'B', 'C', 'D'],
    );
    assert.deepEqual(
      lex(text, o).assignments.map((a) => a.key),
      ['OK'],
    );
  }
});

test('shared: redirections, subshells, NUL and a final backslash are refused in both', () => {
  for (const o of [SECRETS, RANCHER]) {
    for (const v of ['a>b', 'a<b', '(a)', 'a&b', 'a|b'])
      assert.equal(problems(`A=${v}\n`, o).length, 1, `${v} accepted`);
    assert.match(problems('A=a\0b', o)[0]!, /NUL/);
    assert.match(problems('A="a\0b"', o)[0]!, /NUL/);
    assert.match(problems('A=a\\', o)[0]!, /backslash at the end of the file/);
    assert.match(problems('A="open', o)[0]!, /1:3 unterminated double quote/);
  }
});

test('strict: glob and brace characters and any $ outside quotes are refused; else they are literal', () => {
  for (const v of ['a*b', 'a?b', '[a]', '~a', 'a!', '{a}', 'a$', '$'])
    assert.equal(problems(`A=${v}\n`, SECRETS).length, 1, `${v} accepted`);
  assert.deepEqual(values('A=a*b?[c]~!{d}$\n', RANCHER), [['A', ['a*b?[c]~!{d}$']]]);
  assert.equal(problems('A=a*b?[c]~!{d}$\n', { ...RANCHER, strict: true }).length, 1);
});

test('references: $NAME, ${NAME}, ${NAME:-text} and ${NAME-text}, between literals', () => {
  assert.deepEqual(values('A=x$B"-${C}-"${D:-d 1}${E-e}$.\n', RANCHER), [
    [
      'A',
      [
        'x',
        { name: 'B' },
        '-',
        { name: 'C' },
        '-',
        { name: 'D', fallback: { text: 'd 1', ifEmpty: true } },
        { name: 'E', fallback: { text: 'e', ifEmpty: false } },
        '$.',
      ],
    ],
  ]);
  // A quoted or escaped dollar stays a dollar.
  assert.deepEqual(values(`A='$B'"\\$C"\\$D\n`, RANCHER), [['A', ['$B$C$D']]]);
});

test('references: what they cannot say is refused, at the dollar', () => {
  assert.deepEqual(
    problems('A=$(id)\nB="$(id)"\nC="`id`"\nD=$1\nE=${F\nG=${H:?x}\nI=${J:-a\nb}\n', RANCHER),
    [
      '1:3 command substitution is not supported',
      '2:4 command substitution is not supported',
      '3:4 command substitution is not supported',
      '4:3 unsupported expansion: only $NAME, ${NAME}, ${NAME:-text} and ${NAME-text}',
      '5:3 unsupported expansion: only $NAME, ${NAME}, ${NAME:-text} and ${NAME-text}',
      '6:3 unsupported expansion: only $NAME, ${NAME}, ${NAME:-text} and ${NAME-text}',
      '7:3 unsupported expansion: only $NAME, ${NAME}, ${NAME:-text} and ${NAME-text}',
      '8:1 expected `export KEY=value` or `KEY=value`', // the rest of a refused line is not read
    ],
  );
});

test('without references: an expansion in double quotes is refused, a lone dollar is literal', () => {
  assert.deepEqual(problems('A="$B"\nB="${C}"\nC="`id`"\n', SECRETS), [
    '1:4 shell expansion inside double quotes is not supported; escape it or use single quotes',
    '2:4 shell expansion inside double quotes is not supported; escape it or use single quotes',
    '3:4 shell expansion inside double quotes is not supported; escape it or use single quotes',
  ]);
  assert.deepEqual(values('A="a $ b$"\n', SECRETS), [['A', ['a $ b$']]]);
});

test('crlf: \\r\\n ends a line and positions stay those of the file; else a CR outside quotes is refused', () => {
  const text = 'A=1\r\nB="x\r\ny"\r\n  C=$\r\n';
  const r = lex(text, RANCHER);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(
    r.assignments.map((a) => [a.key, a.parts, a.line, a.column]),
    [
      ['A', ['1'], 1, 1],
      ['B', ['x\ny'], 2, 1],
      ['C', ['$'], 4, 3],
    ],
  );
  assert.deepEqual(problems('A=1\r\nB=2\n', SECRETS), [
    '1:4 carriage return outside quotes (Windows line endings?)',
  ]);
  assert.deepEqual(problems('A=1\rB=2\n', RANCHER), [
    '1:4 carriage return outside quotes (Windows line endings?)',
  ]);
  // Inside quotes a CR is a character like any other.
  assert.deepEqual(values(`A='a\rb'\n`, SECRETS), [['A', ['a\rb']]]);
});

test('duplicates: refused with the first line, or every assignment kept in order for the last to win', () => {
  assert.deepEqual(problems('A=1\nB=2\nA=3\n', SECRETS), ['3:1 A is set twice (first on line 1)']);
  assert.deepEqual(values('A=1\nB=2\nA=3\n', RANCHER), [
    ['A', ['1']],
    ['B', ['2']],
    ['A', ['3']],
  ]);
});

test('the importer expands references as bash does when it sources the file', () => {
  const text = [
    'export A=one',
    'B="${A}-$A-${UNSET:-dflt}-${UNSET-d2}-${EMPTY:-e}-${EMPTY-kept}"',
    'C=x\'$A\'\\$A"$A"',
    'export D=$A$A E=${A:-no}',
    'A=two',
    'F=$A',
  ].join('\n');
  const vars = new Map([['EMPTY', '']]);
  const ours = parseShellEnv(text, 'x.env', vars).vars;
  const script = `EMPTY=; ${text}\nfor k in A B C D E F; do printf '%s=%s\\0' "$k" "\${!k}"; done`;
  const out = execFileSync('bash', ['-c', script], { encoding: 'utf8' });
  const bash = new Map(
    out
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
  );
  assert.deepEqual(ours, bash);
});
