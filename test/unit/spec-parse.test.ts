import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editDistance, nearest } from '../../src/platform-spec/did-you-mean.js';
import { parseSpec } from '../../src/platform-spec/parse.js';
import { platformSchema } from '../../src/platform-spec/platform-schema.js';
import { projectSchema } from '../../src/platform-spec/project-schema.js';
import { examplePlatformText, exampleProjectText, refusals } from '../helpers/specs.js';

const problems = (text: string, schema: typeof projectSchema | typeof platformSchema = projectSchema) =>
  refusals(text, schema);

test('the examples parse, with defaults filled in', () => {
  const platform = parseSpec('platform.yaml', examplePlatformText, platformSchema).value;
  assert.equal(platform.services.redis.port, 6379);
  assert.equal(platform.engine, 'docker');
  const project = parseSpec('p.yaml', exampleProjectText, projectSchema).value;
  assert.equal(project.instances.test?.tag, 'latest');
  assert.equal(project.instances.prod?.marabuntaMode, 'full');
});

test('an unknown key names its own line and column', () => {
  const text = exampleProjectText.replace('plan: standard', 'plan: standard\nplna: large');
  const [p] = problems(text);
  assert.equal(p?.path, 'plna');
  assert.match(p!.message, /unknown field "plna"/);
  assert.equal(p?.location?.line, text.split('\n').findIndex((l) => l.startsWith('plna')) + 1);
  assert.equal(p?.location?.column, 1);
});

test('a wrong type says what was expected and what was found', () => {
  const text = exampleProjectText.replace('version: 10.0.0\n  prod', 'version: [1]\n  prod');
  const ps = problems(text);
  assert.ok(
    ps.some((p) => p.path === 'instances.integration.version'),
    JSON.stringify(ps),
  );
});

test('a missing field points at its parent', () => {
  const text = exampleProjectText.replace('client: Neomedical SA\n', '');
  const [p] = problems(text);
  assert.equal(p?.path, 'client');
  assert.match(p!.message, /missing required field/);
  // the mapping that lacks it starts on the first line that is not a comment
  assert.equal(p?.location?.line, text.split('\n').findIndex((l) => !l.startsWith('#')) + 1);
});

test('all problems of a file are reported at once', () => {
  const text = exampleProjectText
    .replace('plan: standard', 'plan: Standard!')
    .replace('flavour: camptocamp', 'flavour: doodba');
  const ps = problems(text);
  assert.deepEqual(ps.map((p) => p.path).sort(), ['flavour', 'plan']);
  assert.match(ps.find((p) => p.path === 'flavour')!.message, /expected one of "camptocamp", "official"/);
});

test('broken YAML names the line of the break', () => {
  const ps = problems('name: x\nclient: [unclosed\nplan: y\n');
  assert.ok(ps[0]?.location && ps[0].location.line >= 2);
});

test('duplicate keys are refused', () => {
  const ps = problems(exampleProjectText.replace('plan: standard', 'plan: standard\nplan: large'));
  assert.match(ps[0]!.message, /unique|duplicate/i);
});

test('an empty file is refused clearly', () => {
  assert.match(problems('# nothing\n')[0]!.message, /empty/);
});

test('platform: a host reference to an undeclared label type is a schema error', () => {
  const ps = problems(
    examplePlatformText.replace('labels: [database]', 'labels: ["Data Base"]'),
    platformSchema,
  );
  assert.ok(ps.some((p) => p.path?.startsWith('hosts.db1.labels')));
});

test('an unknown key near a known one asks "did you mean", wherever it is in the file', () => {
  const cases: [string, string, typeof projectSchema | typeof platformSchema, RegExp][] = [
    ['plan: standard', 'plna: standard', projectSchema, /^unknown field "plna"; did you mean "plan"\?$/],
    [
      'odooSeries:',
      'odooseries:',
      projectSchema,
      /^unknown field "odooseries"; did you mean "odooSeries"\?$/,
    ],
    [
      'datacentre:',
      'datacenter:',
      platformSchema,
      /^unknown field "datacenter"; did you mean "datacentre"\?$/,
    ],
    ['renewBeforeDays:', 'renewBeforDays:', platformSchema, /did you mean "renewBeforeDays"\?$/],
  ];
  for (const [from, to, schema, message] of cases) {
    const text = (schema === projectSchema ? exampleProjectText : examplePlatformText).replace(from, to);
    assert.notEqual(text, schema === projectSchema ? exampleProjectText : examplePlatformText, from);
    const unknown = problems(text, schema).filter((p) => p.message.startsWith('unknown field'));
    assert.equal(unknown.length, 1, to);
    assert.match(unknown[0]!.message, message);
  }
  // Nothing near enough: no guess.
  const far = problems(exampleProjectText.replace('plan: standard', 'plan: standard\nbudget: 3'));
  assert.deepEqual(
    far.map((p) => p.message),
    ['unknown field "budget"'],
  );
});

test('editDistance and nearest: swaps count once, case is ignored, far words get no guess', () => {
  assert.equal(editDistance('plna', 'plan'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(nearest('Domain', ['domain', 'name']), 'domain');
  assert.equal(nearest('imgae', ['image', 'images']), 'image');
  assert.equal(nearest('xyz', ['name', 'domain']), undefined);
});
