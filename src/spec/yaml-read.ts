// YAML text → a yaml Document and plain data, with every failure of the YAML
// library (syntax, aliases, tags, size, nesting) turned into problems with
// file:line:column. The library throws on some inputs (an unresolved alias, an
// alias bomb) and exhausts memory on others (very deep flow nesting), so the
// bounds are checked here before and around it. Pure; shared by the spec
// loader and the Rancher importer.
import { isAlias, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { Problem, SourceLocation } from '../errors.js';

/** A spec or stack file is a few kilobytes; 1 MiB leaves room and keeps parsing fast. */
export const MAX_YAML_BYTES = 1024 * 1024;
/** The deepest spec is 5 levels; 64 is far beyond any real file and far below what crashes the parser. */
export const MAX_YAML_DEPTH = 64;
/** Aliases a file may expand: a few are normal (shared env blocks), thousands are a bomb. */
export const MAX_YAML_ALIASES = 100;

export interface YamlRead {
  doc: Document;
  at: (offset: number) => SourceLocation;
  /** Errors: the file cannot be used. */
  errors: Problem[];
  /** Duplicate keys when they are allowed (last one wins), unknown tags: the file is usable. */
  warnings: Problem[];
}

export function readYaml(file: string, text: string, opts: { uniqueKeys: boolean }): YamlRead {
  const lineCounter = new LineCounter();
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(Math.max(0, offset));
    return { file, line, column: col };
  };
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_YAML_BYTES) {
    const doc = parseDocument('');
    const message = `the file is ${bytes} bytes; at most ${MAX_YAML_BYTES} (1 MiB) are read`;
    return {
      doc,
      at: () => ({ file, line: 1, column: 1 }),
      errors: [{ message, location: { file, line: 1, column: 1 } }],
      warnings: [],
    };
  }
  const deep = tooDeep(text);
  if (deep !== undefined) {
    const lines = text.slice(0, deep).split('\n');
    const location = { file, line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
    return {
      doc: parseDocument(''),
      at: () => location,
      errors: [{ message: `nesting deeper than ${MAX_YAML_DEPTH} levels`, location }],
      warnings: [],
    };
  }
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: opts.uniqueKeys,
    strict: true,
  });
  const problem = (e: { message: string; pos: [number, number] }): Problem => ({
    message: firstLine(e.message),
    location: at(e.pos[0]),
  });
  const warnings = doc.warnings.map(problem);
  if (!opts.uniqueKeys) warnings.push(...duplicateKeys(doc, at));
  return { doc, at, errors: doc.errors.map(problem), warnings };
}

/**
 * The document as plain data, aliases expanded within bounds. The library throws
 * ReferenceError for an unresolved or excessive alias: returned as a problem at the alias.
 */
export function yamlData(read: YamlRead): { data: unknown } | { problem: Problem } {
  try {
    return { data: read.doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) };
  } catch (e) {
    const message = e instanceof Error ? firstLine(e.message) : String(e);
    let offset = 0;
    let unresolved: number | undefined;
    visit(read.doc, {
      Alias(_, node) {
        if (offset === 0) offset = node.range?.[0] ?? 0;
        if (unresolved === undefined && node.resolve(read.doc) === undefined) unresolved = node.range?.[0];
      },
    });
    if (unresolved !== undefined) {
      return {
        problem: {
          message: 'alias to an anchor that is not defined before it',
          location: read.at(unresolved),
        },
      };
    }
    const alias = /alias/i.test(message);
    return {
      problem: {
        message: alias ? `aliases expand too much (at most ${MAX_YAML_ALIASES} expansions)` : message,
        location: read.at(offset),
      },
    };
  }
}

/**
 * The offset where flow collections ([ {) nest deeper than the bound. A bracket
 * opens a collection only after a blank, a line start or an indicator (`foo[1]`
 * is a plain scalar); quoted strings and comments are skipped.
 */
function tooDeep(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const prev = i === 0 ? '\n' : (text[i - 1] as string);
    if (prev === '\n' && depth === 0) {
      // `- - - x` nests block collections on one line, two bytes a level.
      const at = compactNesting(text, i);
      if (at !== undefined) return at;
    }
    const opens = /\s/.test(prev) || ',:-?'.includes(prev) || (depth > 0 && '[{'.includes(prev));
    if (c === '#' && /\s/.test(prev)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if ((c === '"' || c === "'") && opens) {
      for (i++; i < text.length && text[i] !== c; i++) if (c === '"' && text[i] === '\\') i++;
    } else if ((c === '[' || c === '{') && (depth > 0 || opens)) {
      if (++depth > MAX_YAML_DEPTH) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return undefined;
}

function compactNesting(text: string, start: number): number | undefined {
  let levels = 0;
  let i = start;
  while (text[i] === ' ' || text[i] === '\t') i++;
  while ('-?:'.includes(text[i] ?? 'x') && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
    if (++levels > MAX_YAML_DEPTH) return i;
    i += 2;
    while (text[i] === ' ' || text[i] === '\t') i++;
  }
  return undefined;
}

/** With uniqueKeys off the library keeps the last value silently; say where each repeat is. */
function duplicateKeys(doc: Document, at: (offset: number) => SourceLocation): Problem[] {
  const out: Problem[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Map<string, number>();
      for (const pair of map.items) {
        const key = pair.key as { value?: unknown; range?: [number, number, number] } | null;
        if (!key || isAlias(key) || typeof key !== 'object' || !('value' in key)) continue;
        const name = String(key.value);
        const first = seen.get(name);
        const offset = key.range?.[0] ?? 0;
        if (first !== undefined) {
          out.push({
            message: `duplicate key "${name}" (first on line ${at(first).line}); the last one wins`,
            location: at(offset),
          });
        } else seen.set(name, offset);
      }
    },
  });
  return out;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
