// The first line of every spec file odp writes: the yaml-language-server
// modeline that points editors at the file's JSON Schema, a path relative to
// the file inside the platform directory, so it works offline and in any
// checkout (docs/decisions/0066). To the YAML readers it is a comment.
import type { SpecKind } from './json-schema.js';

/** Where `init`, `project new` and `import rancher` keep the schemas, in the platform directory. */
export const SCHEMA_DIR = '.odp/schema';

/** `platform.schema.json` or `project.schema.json`. */
export const schemaFileName = (kind: SpecKind) => `${kind}.schema.json`;

/** The comment's text, without `#`: platform.yaml is at the top, project files one level down. */
export function schemaModeline(kind: SpecKind): string {
  const up = kind === 'platform' ? '' : '../';
  return `yaml-language-server: $schema=${up}${SCHEMA_DIR}/${schemaFileName(kind)}`;
}
