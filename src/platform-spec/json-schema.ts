// JSON Schemas of both spec files, for editors (yaml-language-server and the
// like). Generated from the same zod schemas that validate, so they never drift.
import * as z from 'zod';
import { platformSchema } from './platform-schema.js';
import { projectSchema } from './project-schema.js';

export type SpecKind = 'platform' | 'project';

export function jsonSchema(kind: SpecKind): Record<string, unknown> {
  const schema = kind === 'platform' ? platformSchema : projectSchema;
  return {
    $id: `https://odoo-platform.dev/schema/${kind}.json`,
    ...z.toJSONSchema(schema, {
      io: 'input',
      unrepresentable: 'any',
      // zod leaves out the examples of a schema that transforms its input (env values
      // become strings); ours are written as the YAML input, so they stay.
      override: ({ zodSchema, jsonSchema }) => {
        const examples = z.globalRegistry.get(zodSchema)?.examples;
        if (Array.isArray(examples) && !jsonSchema.examples) jsonSchema.examples = examples;
      },
    }),
  };
}
