// The fast reader of plain spec files (src/platform-spec/yaml-plain.ts) against the
// `yaml` library: on thousands of generated files, written in every style the
// reader takes and many it declines, then corrupted at random, whenever it
// answers it must give the library's data and the library's location for every
// path, and the library must find nothing wrong with the file. Seeded, so a
// failure reproduces.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { draftProject } from '../../src/ops/project/project-draft.js';
import { offsetOf, parseSpec } from '../../src/platform-spec/parse.js';
import { platformSchema } from '../../src/platform-spec/platform-schema.js';
import { projectSchema } from '../../src/platform-spec/project-schema.js';
import { platformTemplate } from '../../src/platformdir/template.js';
import { readPlainYaml } from '../../src/platform-spec/yaml-plain.js';
import { readYaml, yamlData } from '../../src/platform-spec/yaml-read.js';
import { examplePlatformText, exampleProjectText, mutate } from '../helpers/specs.js';
import { prng } from '../helpers/prng.js';

const keys = [
  'name',
  'client',
  'instances',
  'env',
  'a.b',
  'x-y',
  '_',
  'WORKERS',
  'on',
  'yes',
  'y',
  'Null',
  'true',
  'TRUE',
  '__proto__',
  'constructor',
  '1',
  '0x1',
  '-a',
  'key with space',
  'k#',
  'é',
  'Infinity',
  'NaN',
];
const scalars = [
  'neomedical',
  'Neomedical SA',
  '1',
  '-0',
  '+5',
  '007',
  '0o17',
  '0o8',
  '0x1F',
  '0xg',
  '1e3',
  '1E-2',
  '.5',
  '1.',
  '1.0',
  '16.0',
  '10.0.0',
  '.inf',
  '-.Inf',
  '+.INF',
  '.NaN',
  '.nan',
  'nan',
  '~',
  'null',
  'Null',
  'NULL',
  'nULL',
  'true',
  'True',
  'TRUE',
  'tRUE',
  'false',
  'yes',
  'no',
  'on',
  'off',
  'a#b',
  'a #b',
  'a: b',
  'a:',
  'a:b',
  'odp/postgres:15',
  'https://acme.example/dir',
  '- a',
  '-a',
  '-',
  '--',
  '[x',
  'x]',
  '{a}',
  'a}',
  '&a',
  '*a',
  '!t',
  '|',
  '>',
  '?x',
  ':x',
  ',x',
  '@x',
  '`x',
  '%x',
  "it's",
  '"q"',
  'a"b',
  'a\\b',
  'é',
  'ü ß',
  '\u00a0x',
  'x\u00a0',
  ' lead',
  'trail ',
  'a,b',
  'a  b',
  '',
  ' ',
  '#',
  'a\tb',
  'x\u0085',
  '\u2028',
  '\ufeff',
  '\u202e',
  'a'.repeat(300),
  '0b101',
  '1_000',
  '12:30',
  '2026-12-07',
  '😀',
];
const comments = ['', '', '', ' # note', '  #x', '#tight', ' #', ' # a: b'];

type Tree =
  { map: [string, Tree][] } | { seq: string[]; flow: boolean } | { flow: string } | { scalar: string } | null;

/** A one-line flow collection, nested, spaced in several ways: `{ a: 1, b: [x, y] }`. */
function flowText(r: () => number, depth: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const pad = pick(['', ' ', '  ']);
  const sep = pick([', ', ',', ' , ']);
  const item = (): string =>
    depth < 3 && r() < 0.3 ? flowText(r, depth + 1) : pick(r() < 0.7 ? scalars.slice(0, 20) : scalars);
  const n = Math.floor(r() * 4);
  if (r() < 0.5) return `[${pad}${Array.from({ length: n }, item).join(sep)}${pad}]`;
  const colon = pick([': ', ': ', ':  ', ':', ' : ']);
  const entries = Array.from(
    { length: n },
    () => `${pick(r() < 0.8 ? keys.slice(0, 8) : keys)}${colon}${item()}`,
  );
  return `{${pad}${entries.join(sep)}${pad}}`;
}

function tree(r: () => number, depth: number): Tree {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const k = r();
  if (depth < 4 && k < 0.3) {
    const n = Math.floor(r() * 4);
    return {
      map: Array.from({ length: n }, () => [pick(r() < 0.8 ? keys.slice(0, 8) : keys), tree(r, depth + 1)]),
    };
  }
  if (k < 0.45)
    return { seq: Array.from({ length: Math.floor(r() * 4) }, () => pick(scalars)), flow: r() < 0.5 };
  if (k < 0.55) return { flow: flowText(r, 0) };
  if (k < 0.6) return null;
  return { scalar: pick(r() < 0.5 ? scalars.slice(0, 12) : scalars) };
}

function scalarText(s: string, r: () => number): string {
  const k = r();
  if (k < 0.6) return s;
  if (k < 0.85) return `'${s.replace(/'/g, "''")}'`;
  return `"${s}"`;
}

/** YAML text of a mapping, in the styles people write: indents of 1 to 4, comments, blank lines, both sequence placements. */
function emit(entries: [string, Tree][], indent: number, r: () => number, out: string[]): void {
  const step = 1 + Math.floor(r() * 4);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const pad = ' '.repeat(indent);
  for (const [key, value] of entries) {
    if (r() < 0.1) out.push(`${' '.repeat(Math.floor(r() * 6))}# a comment line`);
    if (r() < 0.1) out.push(r() < 0.5 ? '' : '   ');
    const head = `${pad}${key}:`;
    if (value === null) out.push(`${head}${pick(comments)}`);
    else if ('flow' in value && typeof value.flow === 'string')
      out.push(`${head} ${value.flow}${pick(comments)}`);
    else if ('scalar' in value)
      out.push(
        `${head}${' '.repeat(1 + Math.floor(r() * 2))}${scalarText(value.scalar, r)}${pick(comments)}`,
      );
    else if ('seq' in value && value.flow) {
      const sep = pick([', ', ',', ' , ']);
      out.push(
        `${head} [${r() < 0.2 ? ' ' : ''}${value.seq.map((s) => (r() < 0.9 ? s : scalarText(s, r))).join(sep)}]${pick(comments)}`,
      );
    } else if ('seq' in value) {
      out.push(`${head}${pick(comments)}`);
      const at = ' '.repeat(r() < 0.3 ? indent : indent + step);
      for (const s of value.seq) {
        out.push(`${at}- ${r() < 0.1 ? flowText(r, 1) : scalarText(s, r)}${pick(comments)}`);
      }
    } else {
      out.push(`${head}${pick(comments)}`);
      emit(value.map, indent + step, r, out);
    }
  }
}

function corrupt(text: string, r: () => number): string {
  const chars = [':', ' ', '-', '#', '\n', '"', "'", '[', ']', ',', '\t', 'a', '1', '&', '*', '!', '{', '\r'];
  let t = text;
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (t.length + 1));
    const k = r();
    if (k < 0.4) t = t.slice(0, at) + chars[Math.floor(r() * chars.length)] + t.slice(at);
    else if (k < 0.7) t = t.slice(0, at) + t.slice(at + 1);
    else t = t.slice(0, at) + chars[Math.floor(r() * chars.length)] + t.slice(at + 1);
  }
  return t;
}

/** Every path of `data`, and beside each some that do not exist. */
function paths(data: unknown, prefix: PropertyKey[] = []): PropertyKey[][] {
  const out: PropertyKey[][] = [
    prefix,
    [...prefix, 'nope'],
    [...prefix, 0],
    [...prefix, '0'],
    [...prefix, 7],
  ];
  if (Array.isArray(data)) data.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (data && typeof data === 'object') {
    for (const [k, v] of Object.entries(data)) out.push(...paths(v, [...prefix, k]));
  }
  return out;
}

/** The plain reader agrees with the library on `text`, or declines it. True when it answered. */
function agrees(text: string): boolean {
  const plain = readPlainYaml(text);
  if (!plain) return false;
  const read = readYaml('f.yaml', text, { uniqueKeys: true });
  const why = `on ${JSON.stringify(text)}`;
  assert.deepEqual(read.errors, [], `the library finds errors ${why}`);
  assert.deepEqual(read.warnings, [], `the library warns ${why}`);
  const js = yamlData(read);
  assert.ok('data' in js, why);
  assert.deepStrictEqual(plain.data, js.data, why);
  for (const path of paths(plain.data)) {
    const { line, col } = plain.linePos(plain.offsetOf(path));
    assert.deepEqual(
      { file: 'f.yaml', line, column: col },
      read.at(offsetOf(read.doc, path)),
      `${why} at ${JSON.stringify(path)}`,
    );
  }
  return true;
}

test('generated files: the plain reader gives the library’s data and locations, or declines', () => {
  const r = prng(20261207);
  let answered = 0;
  const runs = 4000;
  for (let i = 0; i < runs; i++) {
    const t = tree(r, 0);
    const out: string[] = [];
    emit(t && 'map' in t ? t.map : [['name', t]], 0, r, out);
    if (agrees(`${out.join('\n')}${r() < 0.8 ? '\n' : ''}`)) answered++;
  }
  // It must answer often, or the comparison says little.
  assert.ok(answered > runs / 4, `answered ${answered} of ${runs}`);
});

test('corrupted files: the plain reader never answers differently from the library', () => {
  const r = prng(7);
  const sources = [exampleProjectText, examplePlatformText, mutate(examplePlatformText, () => undefined)];
  for (let i = 0; i < 400; i++) {
    const t = tree(r, 0);
    const out: string[] = [];
    emit(t && 'map' in t ? t.map : [['name', t]], 0, r, out);
    sources.push(out.join('\n'));
  }
  for (let i = 0; i < 4000; i++) agrees(corrupt(sources[i % sources.length]!, r));
});

test('the files odp writes and the examples take the fast path', () => {
  const d = draftProject('odoo.example.ch', { databases: new Set(), domains: new Set() }, 'acme', {
    client: 'ACME SA',
    plan: 'standard',
    flavour: 'camptocamp',
    series: '16.0',
  });
  const platform = platformTemplate('acme', 'odoo.acme.ch', 'ops@acme.ch');
  for (const text of [
    exampleProjectText,
    examplePlatformText,
    d.yaml,
    mutate(examplePlatformText, () => undefined),
  ]) {
    assert.ok(agrees(text), text);
  }
  // Their first line, the editors' schema modeline, is a comment to both readers.
  assert.match(d.yaml, /^# yaml-language-server: \$schema=\.\.\/\.odp\/schema\/project\.schema\.json\n/);
  assert.match(platform, /^# yaml-language-server: \$schema=\.odp\/schema\/platform\.schema\.json\n/);
  // (The template's quoted flow values send it to the library anyway; the modeline changes nothing.)
  const withoutModeline = platform.slice(platform.indexOf('\n') + 1);
  assert.equal(Boolean(readPlainYaml(platform)), Boolean(readPlainYaml(withoutModeline)));
  assert.equal(parseSpec('platform.yaml', platform, platformSchema).value.name, 'acme');
  // And parseSpec gives the same value by either path.
  const viaPlain = parseSpec('p.yaml', d.yaml, projectSchema);
  const viaLibrary = parseSpec('p.yaml', `%YAML 1.2\n---\n${d.yaml}`, projectSchema);
  assert.deepStrictEqual(viaPlain.value, viaLibrary.value);
  assert.ok(parseSpec('platform.yaml', examplePlatformText, platformSchema).value.hosts.app1);
});
