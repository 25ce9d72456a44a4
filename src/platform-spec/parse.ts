// Text → validated spec, or every problem of the file at once, each pointing at
// file:line:column and a field path. Pure: callers read the file. A plain file
// that validates takes the fast path (parse-plain.ts); every other file, and
// every problem, goes through the YAML library here.
import { isMap, isScalar, type Document, type Node as YamlNode } from 'yaml';
import type * as z from 'zod';
import { OdpError, type Problem, type SourceLocation } from '../errors.js';
import { knownKeys, nearest } from './did-you-mean.js';
import { parsePlain, type Parsed } from './parse-plain.js';
import { quotable, readYaml, yamlData } from './yaml-read.js';

export type { Parsed } from './parse-plain.js';

export function parseSpec<S extends z.ZodType>(file: string, text: string, schema: S): Parsed<z.output<S>> {
  try {
    return parsePlain(file, text, schema) ?? parseUnguarded(file, text, schema);
  } catch (e) {
    if (e instanceof OdpError) throw e;
    // A failure of a library on hostile input (a stack overflow, say) is still this file's problem.
    const message = `cannot be read: ${firstLine(e instanceof Error ? e.message : String(e))}`;
    throw invalid(file, [{ message, location: { file, line: 1, column: 1 } }]);
  }
}

function parseUnguarded<S extends z.ZodType>(file: string, text: string, schema: S): Parsed<z.output<S>> {
  // Every failure of the YAML library, thrown or reported, becomes a located problem.
  const read = readYaml(file, text, { uniqueKeys: true });
  const { doc, at } = read;
  const locate = (path: readonly PropertyKey[]) => at(offsetOf(doc, path));

  if (read.errors.length > 0) throw invalid(file, [...read.errors, ...read.warnings]);
  const js = yamlData(read);
  if ('problem' in js) throw invalid(file, [js.problem]);
  const data = js.data;
  if (data === null || data === undefined) {
    throw invalid(file, [{ message: 'the file is empty; expected a mapping of fields', location: at(0) }]);
  }
  // zod drops a `__proto__` key without a word (assigning it would replace a prototype): refuse it.
  const reserved = reservedKeys(data);
  if (reserved.length > 0) {
    throw invalid(
      file,
      reserved.map((path) => ({
        message: 'the key "__proto__" is reserved',
        path: dotted(path),
        location: locate(path),
      })),
    );
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => issueProblems(issue, locate, doc, schema));
    throw invalid(file, problems);
  }
  return { value: result.data, locate };
}

function invalid(file: string, found: Problem[]): OdpError {
  // Messages and paths quote what the file holds: bounded and printable, whatever it holds.
  const problems = found.map((p) => ({
    ...p,
    message: quotable(p.message),
    ...(p.path === undefined ? {} : { path: quotable(p.path, 120) }),
  }));
  problems.sort(
    (a, b) =>
      (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
      (a.location?.column ?? 0) - (b.location?.column ?? 0),
  );
  const n = problems.length;
  return new OdpError('SPEC_INVALID', `${file}: ${n} problem${n === 1 ? '' : 's'}`, {
    problems,
    hint: 'Run `odp schema` for the full schema, or fix the lines above.',
  });
}

function issueProblems(
  issue: z.core.$ZodIssue,
  locate: (p: readonly PropertyKey[]) => SourceLocation,
  doc: Document,
  schema: z.ZodType,
): Problem[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(schema, path);
    return issue.keys.map((key) => ({
      message: `unknown field "${key}"${didYouMean(key, known)}`,
      path: dotted([...path, key]),
      location: locate([...path, key]),
    }));
  }
  return [
    { message: describeIssue(issue, doc), path: dotted(path) || '(top level)', location: locate(path) },
  ];
}

/** `; did you mean "plan"?` when a known key is near enough to be what was meant. */
function didYouMean(key: string, known: readonly string[]): string {
  const near = nearest(
    key,
    known.filter((k) => !known.includes(key) && k !== key),
  );
  return near ? `; did you mean "${near}"?` : '';
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document): string {
  if (issue.code === 'invalid_type') {
    const present = doc.hasIn(issue.path as PropertyKey[]);
    if (!present) return `missing required field (expected ${issue.expected})`;
    return `expected ${issue.expected}, got ${typeName(doc.getIn(issue.path as PropertyKey[]))}`;
  }
  if (issue.code === 'invalid_value')
    return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  return issue.message;
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (isMap(v)) return 'a mapping';
  if (isScalar(v)) return typeName(v.value);
  if (typeof v === 'object' && v && 'items' in v) return 'a list';
  return `${typeof v} ${JSON.stringify(v)}`.slice(0, 60);
}

/** The offset of the deepest node of `path` that exists: the key itself when it is a map key. */
export function offsetOf(doc: Document, path: readonly PropertyKey[]): number {
  let node: unknown = doc.contents;
  let best = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) return best;
      best = (pair.key as YamlNode).range?.[0] ?? best;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && typeof key === 'number') {
      const item = (node as { items: unknown[] }).items[key];
      if (!item) return best;
      best = (item as YamlNode).range?.[0] ?? best;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

function reservedKeys(data: unknown, path: PropertyKey[] = [], depth = 0): PropertyKey[][] {
  if (data === null || typeof data !== 'object' || depth > 64) return [];
  return Object.keys(data).flatMap((k) => {
    const here = [...path, Array.isArray(data) ? Number(k) : k];
    if (k === '__proto__') return [here];
    return reservedKeys((data as Record<string, unknown>)[k], here, depth + 1);
  });
}

export function dotted(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
