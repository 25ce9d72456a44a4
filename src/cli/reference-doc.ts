// docs/reference/, generated: every field of platform.yaml and projects/<name>.yaml
// from their JSON Schema (the zod schemas that validate them, src/platform-spec),
// each with an example from examples/platform, and every environment variable odp
// reads (src/cli/environment.ts). `npm run docs:config` writes the files, and
// test/unit/docs-reference.test.ts fails while one differs from what this returns.
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { jsonSchema, type SpecKind } from '../platform-spec/json-schema.js';
import { rules } from '../platform-spec/rules/index.js';
import { ENVIRONMENT } from './environment.js';

/** The files, relative to the repository, and where each comes from. */
export const REFERENCE_DOCS = {
  platform: 'docs/reference/platform-yaml.md',
  project: 'docs/reference/project-yaml.md',
  environment: 'docs/reference/environment.md',
} as const;

/** The example each field's example is taken from, when it sets the field. */
const EXAMPLES: Record<SpecKind, string> = {
  platform: 'examples/platform/platform.yaml',
  project: 'examples/platform/projects/neomedical.yaml',
};

const TITLES: Record<SpecKind, string> = { platform: 'platform.yaml', project: 'projects/&lt;name&gt;.yaml' };

/** A JSON Schema node, as far as z.toJSONSchema writes them for the spec files. */
export interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: SchemaNode | boolean;
  propertyNames?: SchemaNode;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
}

/** One field of a spec file: `services.postgres.port`, `hosts.<name>.labels`. */
export interface SpecField {
  path: string;
  depth: number;
  node: SchemaNode;
  required: boolean;
  /** The value the example platform gives it, else the schema's first example. */
  example: unknown;
  /** Holds fields of its own (an object, or a map of objects); those are listed after it. */
  parent: boolean;
}

/** The markdown of each reference file, keyed by its path; `root` is the repository. */
export function referenceDocs(root: URL): Record<string, string> {
  return {
    [REFERENCE_DOCS.platform]: specReference('platform', exampleSpec('platform', root)),
    [REFERENCE_DOCS.project]: specReference('project', exampleSpec('project', root)),
    [REFERENCE_DOCS.environment]: environmentReference(),
  };
}

/** The example platform's file of this kind, parsed: where the fields' examples come from. */
export function exampleSpec(kind: SpecKind, root: URL): unknown {
  return parse(readFileSync(new URL(EXAMPLES[kind], root), 'utf8'));
}

/** Every field below the schema's root, depth first, in the order the schema declares them. */
export function specFields(root: SchemaNode, example: unknown): SpecField[] {
  const out: SpecField[] = [];
  const walk = (node: SchemaNode, path: string, depth: number, required: boolean, ex: unknown) => {
    const entries = childFields(node, ex);
    out.push({
      path,
      depth,
      node,
      required,
      example: entries.length ? undefined : (ex ?? node.examples?.[0]),
      parent: entries.length > 0,
    });
    for (const c of entries) {
      if (c.name === ENTRY) walkEntry(c, `${path}.${ENTRY}`, depth + 1);
      else walk(c.node, `${path}.${c.name}`, depth + 1, c.required, c.example);
    }
  };
  // A map of objects (hosts, plans) is one field; its entries' fields follow as `<name>.field`.
  const walkEntry = (c: Child, path: string, depth: number) => {
    for (const f of childFields(c.node, c.example))
      walk(f.node, `${path}.${f.name}`, depth, f.required, f.example);
  };
  for (const c of childFields(root, example)) walk(c.node, c.name, 0, c.required, c.example);
  return out;
}

/** How a map's entry is named in a field's path: `hosts.<name>.labels`. */
const ENTRY = '<name>';

interface Child {
  name: string;
  node: SchemaNode;
  required: boolean;
  example: unknown;
}

/** An object's fields, or a map's entries (`<name>`, with the example's first entry) when they are objects. */
function childFields(node: SchemaNode, example: unknown): Child[] {
  const ex = isRecord(example) ? example : {};
  if (node.properties) {
    return Object.entries(node.properties).map(([name, child]) => ({
      name,
      node: child,
      required: node.required?.includes(name) ?? false,
      example: ex[name],
    }));
  }
  const entry = node.additionalProperties;
  if (typeof entry === 'object' && entry.properties) {
    return [{ name: ENTRY, node: entry, required: true, example: Object.values(ex)[0] }];
  }
  return [];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function specReference(kind: SpecKind, example: unknown): string {
  const schema = jsonSchema(kind) as SchemaNode;
  const fields = specFields(schema, example);
  const anchors = new Map<string, string>();
  for (const f of fields) {
    const anchor = f.path.toLowerCase().replace(/[^\w\- ]/g, '');
    if ([...anchors.values()].includes(anchor)) throw new Error(`two fields make the anchor #${anchor}`);
    anchors.set(f.path, anchor);
  }
  const index = fields.map(
    (f) =>
      `| ${'&nbsp;&nbsp;'.repeat(f.depth)}[\`${f.path}\`](#${anchors.get(f.path)}) | ${typeName(f.node)} | ${presence(f)} |`,
  );
  const sections = fields.map((f) => {
    const lines = [`${f.depth === 0 ? '##' : '###'} \`${f.path}\``, ''];
    if (f.node.description) lines.push(markdownText(f.node.description), '');
    const limits = constraints(f.node);
    lines.push(`- **Type:** ${typeName(f.node)}${limits.length ? `; ${limits.join('; ')}` : ''}`);
    const given = presence(f);
    lines.push(
      `- **${given.startsWith('default') ? `Default:** ${given.slice('default '.length)}` : `${capitalize(given)}**`}`,
    );
    if (f.example !== undefined) lines.push(`- **Example:** \`${yamlValue(f.example)}\``);
    return lines.join('\n');
  });
  const file = EXAMPLES[kind];
  return `<!-- Generated from the zod schemas in src/platform-spec by \`npm run docs:config\`; test/unit/docs-reference.test.ts fails when it is stale. -->

# ${TITLES[kind]}

${intro(kind)}

Every field below, with its type, whether it is required or its default, the values it
accepts, and an example. Examples are taken from [${file}](../../${file}) when it sets the
field. Unknown fields are errors, reported with their line; \`odp schema --kind ${kind}\`
prints the same schema as JSON Schema, with these descriptions, for editors. Besides the
types, \`odp check\` holds both files to [its rules](#rules-of-odp-check).

| Field | Type | Required / default |
| --- | --- | --- |
${index.join('\n')}

${sections.join('\n\n')}

## Rules of \`odp check\`

The rules across both files (\`odp check --list-rules\`):

${rules.map((r) => `- **${r.id}**: ${markdownText(r.description)}`).join('\n')}
`;
}

function intro(kind: SpecKind): string {
  return kind === 'platform'
    ? 'One per platform directory: the hosts, the shared services, ACME, the customer plans and the\n' +
        "images of the platform's own services. `odp init` writes a commented one for a single host;\n" +
        'see also the [project file](project-yaml.md).'
    : 'One per customer project, `projects/<name>.yaml` in the platform directory, beside its secrets\n' +
        '(`projects/<name>.env.gpg`): the customer, the image, the plan and the three instances.\n' +
        '`odp project new` writes one with generated names; see also the [platform file](platform-yaml.md).';
}

/** `required`, `optional`, or the default. */
function presence(f: SpecField): string {
  if (f.required) return 'required';
  if (f.node.default === undefined) return 'optional';
  if (isRecord(f.node.default) && f.parent) return "optional: each field's default";
  return `default \`${yamlValue(f.node.default)}\``;
}

function typeName(n: SchemaNode): string {
  if (n.anyOf) return alternatives([...new Set(n.anyOf.map(typeName))]);
  if (n.format === 'email') return 'email address';
  if (n.format === 'uri') return 'URL';
  if (n.type === 'array') return `list of ${n.items ? typeName(n.items) : 'any'}`;
  if (n.type === 'object') {
    if (n.properties) return 'object';
    const entry = n.additionalProperties;
    return `map of ${typeof entry === 'object' ? (entry.properties ? 'object' : typeName(entry)) : 'any'}`;
  }
  return n.type ?? 'any';
}

/** What values a node accepts beyond its type, as short phrases. */
function constraints(n: SchemaNode): string[] {
  const out: string[] = [];
  if (n.anyOf) {
    const alternatives = n.anyOf.map((a) => constraints(a).join(', ')).filter(Boolean);
    if (alternatives.length) out.push(alternatives.join(', or '));
  }
  if (n.enum) out.push(`one of ${n.enum.map((v) => `\`${String(v)}\``).join(', ')}`);
  if (n.const !== undefined) out.push(`\`${String(n.const)}\``);
  const low = n.minimum ?? (n.exclusiveMinimum === 0 ? 1 : undefined);
  const high = n.maximum === Number.MAX_SAFE_INTEGER ? undefined : n.maximum;
  if (low !== undefined && high !== undefined) out.push(`${low} to ${high}`);
  else if (low !== undefined) out.push(`at least ${low}`);
  else if (high !== undefined) out.push(`at most ${high}`);
  if (n.minLength !== undefined && n.maxLength !== undefined)
    out.push(`${n.minLength} to ${n.maxLength} characters`);
  else if (n.maxLength !== undefined) out.push(`at most ${n.maxLength} characters`);
  else if (n.minLength !== undefined) out.push(`at least ${n.minLength} characters`);
  if (n.pattern && !n.format) out.push(`pattern \`${n.pattern}\``);
  if (n.minItems !== undefined) out.push(`at least ${n.minItems} item${n.minItems === 1 ? '' : 's'}`);
  if (n.maxItems !== undefined) out.push(`at most ${n.maxItems} items`);
  const each = n.items ? constraints(n.items) : [];
  if (each.length) out.push(`each ${each.join(', ')}`);
  const names = n.propertyNames ? constraints(n.propertyNames) : [];
  if (names.length) out.push(`names: ${names.join(', ')}`);
  const entry = n.additionalProperties;
  const values = typeof entry === 'object' && !entry.properties ? constraints(entry) : [];
  if (values.length) out.push(`values: ${values.join(', ')}`);
  return out;
}

/** `a, b or c`. */
function alternatives(words: string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

const capitalize = (s: string) => `${s.charAt(0).toUpperCase()}${s.slice(1)}`;

/**
 * Plain text made safe for markdown outside its code spans: `<name>` is no HTML tag
 * and `_integration` no emphasis.
 */
function markdownText(s: string): string {
  return s
    .split('`')
    .map((part, i) => (i % 2 ? part : part.replace(/</g, '&lt;').replace(/(^|\s)_/g, '$1\\_')))
    .join('`');
}

/** A value as it is written in YAML, on one line. */
function yamlValue(v: unknown): string {
  return stringify(v, { collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0 }).trim();
}

function environmentReference(): string {
  return `<!-- Generated from src/cli/environment.ts by \`npm run docs:config\`; test/unit/docs-reference.test.ts fails when it is stale. -->

# Environment variables

Every variable odp reads; \`odp --help\` ends with the same list, and a unit test fails when
the code reads one it does not list. A command-line option, where there is one, wins over
its variable. Passphrases and keys are never given as options: they come from these
variables, from the files the \`--…-file\` options name, or from a prompt.

| Variable | What odp uses it for |
| --- | --- |
${ENVIRONMENT.map(([name, meaning]) => `| \`${name}\` | ${markdownText(meaning).replace(/\|/g, '\\|')} |`).join('\n')}
`;
}
