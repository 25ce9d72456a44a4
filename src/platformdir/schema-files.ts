// The JSON Schemas the spec files' first lines point at (schema-modeline.ts),
// written into the platform directory by the commands that write spec files,
// and rewritten when this odp's schema differs from what is there (after an
// upgrade), so an editor checks the files against the odp that reads them.
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { jsonSchema, type SpecKind } from '../platform-spec/json-schema.js';
import { SCHEMA_DIR, schemaFileName } from '../platform-spec/schema-modeline.js';
import { writeFileAtomic } from './atomic-write.js';

const KINDS: SpecKind[] = ['platform', 'project'];

/** The schema files of platform directory `dir`. */
export function schemaFiles(dir: string): string[] {
  return KINDS.map((k) => join(dir, SCHEMA_DIR, schemaFileName(k)));
}

/** Writes the files that are missing or differ; returns those it wrote. */
export async function writeSchemaFiles(dir: string): Promise<string[]> {
  const written: string[] = [];
  for (const kind of KINDS) {
    const file = join(dir, SCHEMA_DIR, schemaFileName(kind));
    const text = `${JSON.stringify(jsonSchema(kind), null, 2)}\n`;
    if ((await readFile(file, 'utf8').catch(() => undefined)) === text) continue;
    await mkdir(join(dir, SCHEMA_DIR), { recursive: true });
    await writeFileAtomic(file, text);
    written.push(file);
  }
  return written;
}
