// The inputs that showed issue 16's defects in the spec loader and rules, each
// refused with the project's own error and a location (or a rule violation).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveInstance } from '../../src/compose/instance.js';
import { OdpError } from '../../src/errors.js';
import { parseSpec } from '../../src/platform-spec/parse.js';
import { projectSchema } from '../../src/platform-spec/project-schema.js';
import { rules } from '../../src/platform-spec/rules/index.js';
import type { Rule, RuleInput } from '../../src/platform-spec/rules/types.js';
import { exampleProjectText, input, mutate, project } from '../helpers/specs.js';

const check = (id: string, i: RuleInput) => (rules.find((r) => r.id === id) as Rule).check(i);

function refused(text: string, file = 'projects/neomedical.yaml'): OdpError {
  try {
    parseSpec(file, text, projectSchema);
  } catch (e) {
    assert.ok(e instanceof OdpError, `not an OdpError: ${String(e)}`);
    assert.equal(e.code, 'SPEC_INVALID');
    assert.equal(e.exitCode, 3);
    for (const p of e.problems) assert.equal(p.location?.file, file);
    return e;
  }
  assert.fail('the spec was accepted');
}

describe('defect 1: names every JavaScript object has', () => {
  // Plan and host names are lower-case slugs: `constructor` is the one such name every object has.
  for (const name of ['constructor']) {
    test(`plan: ${name} is not a declared plan, at its line`, () => {
      const p = project((d) => (d.plan = name));
      const text = mutate(exampleProjectText, (d) => (d.plan = name));
      const line = text.split('\n').indexOf(`plan: ${name}`) + 1;
      const v = check('plan-exists', input({ projects: [p] }));
      assert.equal(v.length, 1);
      assert.match(v[0]!.message, new RegExp(`plan "${name}" is not declared`));
      assert.equal(v[0]!.location?.file, 'projects/neomedical.yaml');
      assert.equal(v[0]!.location?.line, line);
      assert.throws(() => resolveInstance(input().platform, p.spec, 'prod'), /is not declared/);
    });
  }
  test('a Redis host or a replica named constructor is not a declared host', () => {
    const v = check(
      'host-exists',
      input({
        platform: (d) => {
          d.services.redis.host = 'constructor';
          d.services.postgres.replica = 'constructor';
        },
      }),
    );
    assert.deepEqual(v.map((x) => x.path).sort(), ['services.postgres.replica', 'services.redis.host']);
    assert.ok(v.every((x) => (x.location?.line ?? 0) > 1));
    // And the replica rule does not compare the data centres of Object.prototype members.
    assert.deepEqual(
      check(
        'replica-other-datacentre',
        input({ platform: (d) => (d.services.postgres.replica = 'constructor') }),
      ),
      [],
    );
  });
  test('an env variable named __proto__ is refused, not silently dropped', () => {
    const e = refused(`${exampleProjectText}    env:\n      __proto__: x\n      WORKERS: '2'\n`);
    assert.ok(
      e.problems.some((p) => /reserved/.test(p.message)),
      JSON.stringify(e.problems),
    );
  });
});

describe('defect 2: YAML alias errors are spec errors with file and line', () => {
  test('an unresolved alias', () => {
    const e = refused('name: neomedical\nclient: *nope\n');
    assert.deepEqual(e.problems[0]?.location, { file: 'projects/neomedical.yaml', line: 2, column: 9 });
    assert.match(e.problems[0]!.message, /alias/);
  });
  test('an alias bomb', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [n, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
    ])
      bomb.push(`${n}: &${n} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    const e = refused(`${bomb.join('\n')}\n`);
    assert.match(e.problems[0]!.message, /aliases expand too much/);
    assert.equal(e.problems[0]!.location?.line, 2);
  });
  test('flow nesting a million deep, and block nesting on one line', () => {
    assert.match(refused(`client: ${'['.repeat(500_000)}`).problems[0]!.message, /nesting deeper than 64/);
    assert.match(refused(`${'- '.repeat(400_000)}x`).problems[0]!.message, /nesting deeper than 64/);
  });
  test('a YAML tag the loader does not know, and a binary value, are located problems', () => {
    const e = refused(exampleProjectText.replace('client: Neomedical SA', 'client: !!binary AAAA'));
    assert.equal(e.problems[0]?.path, 'client');
  });
});

describe('defect 7: sizes, lengths and characters', () => {
  test('a spec file over 1 MiB', () => {
    const e = refused(`${exampleProjectText}# ${'x'.repeat(1024 * 1024)}\n`);
    assert.match(e.problems[0]!.message, /at most 1048576 \(1 MiB\)/);
  });
  const field = (change: (d: Record<string, any>) => void) => refused(mutate(exampleProjectText, change)); // eslint-disable-line @typescript-eslint/no-explicit-any
  test('an escape sequence in the client name', () => {
    const e = field((d) => (d.client = 'Evil \u001b[2J\u001b]0;pwned\u0007 SA'));
    assert.equal(e.problems[0]?.path, 'client');
    assert.match(e.problems[0]!.message, /control characters/);
  });
  test('a newline in an env value, a bidi override in a data centre name', () => {
    assert.match(
      field((d) => (d.instances.prod.env = { FOO: 'a\nb' })).problems[0]!.message,
      /control characters/,
    );
    assert.match(field((d) => (d.client = 'Acme \u202e SA')).problems[0]!.message, /control characters/);
  });
  test('a 1,000-character client, a 5,000-character env value', () => {
    assert.match(field((d) => (d.client = 'x'.repeat(1000))).problems[0]!.message, /at most 100/);
    assert.match(
      field((d) => (d.instances.prod.env = { FOO: 'x'.repeat(5000) })).problems[0]!.message,
      /at most 4096/,
    );
  });
  test('tabs in an env value and non-ASCII names are fine', () => {
    parseSpec(
      'p.yaml',
      mutate(exampleProjectText, (d) => {
        d.client = 'Zürich Bäckerei AG';
        d.instances.prod.env = { FOO: 'a\tb' };
      }),
      projectSchema,
    );
  });
});
