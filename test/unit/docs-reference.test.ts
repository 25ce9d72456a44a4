// docs/reference/ against the code it is generated from (src/cli/reference-doc.ts):
// every field of both spec files says what it is and shows an example or its
// default, and each committed file is what `npm run docs:config` writes now.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { exampleSpec, referenceDocs, specFields, type SchemaNode } from '../../src/cli/reference-doc.js';
import { jsonSchema, type SpecKind } from '../../src/platform-spec/json-schema.js';

const root = new URL('../../', import.meta.url);

for (const kind of ['platform', 'project'] as SpecKind[]) {
  const fields = specFields(jsonSchema(kind) as SchemaNode, exampleSpec(kind, root));

  test(`every field of the ${kind} schema has a description`, () => {
    assert.ok(fields.length > 20, `${fields.length} fields`);
    assert.deepEqual(
      fields.filter((f) => !f.node.description?.trim()).map((f) => f.path),
      [],
      'add .describe() (or .meta({ description })) in src/platform-spec',
    );
  });

  test(`every value field of the ${kind} schema has an example or a default`, () => {
    assert.deepEqual(
      fields
        .filter((f) => !f.parent && f.example === undefined && f.node.default === undefined)
        .map((f) => f.path),
      [],
      'examples/platform does not set it: add .meta({ examples }) in src/platform-spec',
    );
  });
}

test('docs/reference/ is current (npm run docs:config rewrites it)', () => {
  for (const [file, text] of Object.entries(referenceDocs(root))) {
    assert.equal(readFileSync(new URL(file, root), 'utf8'), text, `${file} is stale: npm run docs:config`);
  }
});
