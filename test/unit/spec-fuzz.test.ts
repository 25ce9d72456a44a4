// At least 1,000 randomly corrupted spec files (truncated, wrong types, unknown
// keys, broken YAML): each must give an OdpError naming the file and a line,
// never a crash or a stack trace. Seeded, so a failure reproduces.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { OdpError } from '../../src/errors.js';
import { parseSpec } from '../../src/platform-spec/parse.js';
import { platformSchema } from '../../src/platform-spec/platform-schema.js';
import { projectSchema } from '../../src/platform-spec/project-schema.js';
import { examplePlatformText, exampleProjectText } from '../helpers/specs.js';
import { prng } from '../helpers/prng.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const junk: Json[] = [
  null,
  42,
  -1,
  3.5,
  true,
  'x',
  '',
  [],
  {},
  ['a', 1],
  { nested: { deep: 1 } },
  '${oops}',
  'a'.repeat(300),
];

function paths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (v && typeof v === 'object') {
    const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
    return entries.flatMap(([k, x]) => [[...prefix, k], ...paths(x, [...prefix, k])]);
  }
  return [];
}

function setAt(root: Json, path: (string | number)[], value: Json | undefined): void {
  let node = root as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) {
    node = node[k] as Record<string | number, Json>;
    if (!node || typeof node !== 'object') return; // an earlier corruption replaced the parent
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

function corrupt(text: string, rnd: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const kind = Math.floor(rnd() * 6);
  if (kind === 0) return text.slice(0, Math.floor(rnd() * text.length)); // truncated
  if (kind === 1) {
    // broken YAML: an unbalanced bracket, a tab indent or a stray colon in a random line
    const lines = text.split('\n');
    const i = Math.floor(rnd() * lines.length);
    lines[i] = pick([`${lines[i]} [`, `\t${lines[i]}`, `${lines[i]}: : {`, `"${lines[i]}`, `- ${lines[i]}`]);
    return lines.join('\n');
  }
  const data = parse(text) as Json;
  const all = paths(data);
  const path = pick(all);
  if (kind === 2) setAt(data, path, pick(junk)); // wrong type
  if (kind === 3) setAt(data, [...path.slice(0, -1), `unknown_${Math.floor(rnd() * 1000)}`], 'surprise'); // unknown key
  if (kind === 4) setAt(data, path, undefined); // missing field
  if (kind === 5) for (let n = 0; n < 3; n++) setAt(data, pick(all), pick(junk)); // several at once
  return stringify(data);
}

for (const [name, text, schema] of [
  ['projects/neomedical.yaml', exampleProjectText, projectSchema],
  ['platform.yaml', examplePlatformText, platformSchema],
] as const) {
  test(`${name}: 600 refused corruptions, each failing cleanly with file and line`, () => {
    const rnd = prng(name.length * 7919);
    let refused = 0;
    let stillValid = 0;
    // Some corruptions leave a valid spec (an optional field removed): keep drawing
    // until 600 were refused, within a bound so a bug cannot loop forever.
    for (let i = 0; refused < 600 && i < 3000; i++) {
      const bad = corrupt(text, rnd);
      try {
        parseSpec(name, bad, schema as typeof projectSchema);
        stillValid++; // e.g. a removed optional field: a valid spec is not an error
      } catch (e) {
        assert.ok(e instanceof OdpError, `case ${i}: not an OdpError: ${String(e)}\n${bad}`);
        assert.equal(e.code, 'SPEC_INVALID');
        assert.ok(e.problems.length > 0, `case ${i}: no problem listed`);
        for (const p of e.problems) {
          assert.equal(p.location?.file, name, `case ${i}: ${JSON.stringify(p)}`);
          assert.ok(p.location.line >= 1 && p.location.column >= 1, `case ${i}: ${JSON.stringify(p)}`);
          assert.ok(p.message.length > 0 && !p.message.includes('\n    at '), `case ${i}: stack in message`);
        }
        refused++;
      }
    }
    assert.equal(refused, 600, `only ${refused} refused (${stillValid} still valid)`);
  });
}
